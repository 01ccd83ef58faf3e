"""A service's consumer groups: which of its topics each group reads.

A service reads the topics every order's happy path carries (`Topic.per_order`) with its
own consumer (`ServiceConsumer`, group `fulfil-<service><suffix>`), and the others with
faust (`build_faust_app`, group `fulfil-<service><suffix>-streams`). Two groups, because
one group cannot mix faust's partition assignor with aiokafka's plain one. The runtime,
the lag monitor, the operations command and the test helpers all read the split from
here, so that they name the same groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.registry import Topic, consumed_by

STREAMS_SUFFIX = "-streams"


def group_id(service: str, group_suffix: str = "") -> str:
    return f"fulfil-{service}{group_suffix}"


@dataclass(frozen=True)
class ServiceGroups:
    service: str
    suffix: str
    hot: tuple[Topic, ...]
    cold: tuple[Topic, ...]

    @property
    def hot_group(self) -> str:
        return group_id(self.service, self.suffix)

    @property
    def streams_suffix(self) -> str:
        return self.suffix + STREAMS_SUFFIX

    @property
    def streams_group(self) -> str:
        return group_id(self.service, self.streams_suffix)

    def topics_by_group(self) -> dict[str, list[str]]:
        """Each group the service runs, with the topics it reads (a group with none is not
        run, so it is left out)."""
        groups = {self.hot_group: [t.name for t in self.hot]}
        groups[self.streams_group] = [t.name for t in self.cold]
        return {group: topics for group, topics in groups.items() if topics}


def service_groups(service: str, suffix: str = "") -> ServiceGroups:
    consumed = consumed_by(service)
    return ServiceGroups(
        service,
        suffix,
        hot=tuple(t for t in consumed if t.per_order),
        cold=tuple(t for t in consumed if not t.per_order),
    )
