"""reev's own DeFi protocols seen from Python: pool layouts, instruction builders, the reference
model of the AMM's integer math, pool set-up, the default market, the router and the
Jupiter-shaped HTTP API. The on-chain programs themselves live in `reev.programs`."""
