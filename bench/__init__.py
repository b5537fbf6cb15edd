"""MemberPulse benchmarks (`make bench`). Figures are ratios measured in one run; absolute times on
shared machines are noisy."""
