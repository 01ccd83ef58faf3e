"""deploy/local/prometheus.py: the configuration `make up` gives Prometheus (the real
server's start, reload and stop are in tests/integration/ops/test_alerts.py)."""

from __future__ import annotations

from deploy.local.prometheus import DEFAULT_RULE_FILES, config


def test_each_service_is_a_job_scraped_every_15_s_with_the_rules() -> None:
    settings = config({"order": "127.0.0.1:8001", "payment": "127.0.0.1:8002"})
    assert settings["global"]["scrape_interval"] == "15s"
    assert settings["global"]["scrape_timeout"] == "10s"
    assert settings["rule_files"] == [str(path) for path in DEFAULT_RULE_FILES]
    assert [(job["job_name"], job["static_configs"]) for job in settings["scrape_configs"]] == [
        ("order", [{"targets": ["127.0.0.1:8001"]}]),
        ("payment", [{"targets": ["127.0.0.1:8002"]}]),
    ]
    fast = config({"order": "127.0.0.1:8001"}, scrape_interval="1s")["global"]
    assert fast == {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
