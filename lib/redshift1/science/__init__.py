"""The papers' conversions: SFR, main sequence, metallicity, k-corrections."""
