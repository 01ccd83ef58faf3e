"""The returns service's business rules: pure functions and values, no I/O.

Three flows, chosen by where the order is: paid, not shipped (`before_shipping`,
approved once logistics confirms the shipment stopped; when the parcel had already left,
the request becomes one with a return); not arrived, or a price difference (`no_return`,
by rule or operations); delivered (`with_return`, approved when the goods come back).

- `records`: the vocabulary and the state records (an order as returns knows it, a
  request, its audit steps);
- `eligibility`: what a new request gets (flow, lines, amount, approval at once);
- `transitions`: how a request moves on, as an `Outcome` saved once by the steps.
"""
