"""Print the KinMS recovery table of issue 11 (median and 16-84% of measured/true) and the
S/N and detections of the S/N-optimal extraction against KROSS's whole-field sum.

Run: PYTHONPATH=lib python scripts/kinms_recovery_table.py [N] [SEED]
"""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from kinms_cubes import make_sample  # noqa: E402
from test_kinms_recovery import C_KMS, measure  # noqa: E402


def stats(x):
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if not x.size:
        return "n=0"
    p16, p50, p84 = np.percentile(x, [16, 50, 84])
    return f"n={x.size:3d}  median {p50:8.3f}  16-84% {p16:8.3f} {p84:8.3f}"


def main(n=24, seed=11):
    sample = make_sample(tempfile.mkdtemp(), n, seed=seed, weights=(0.7, 0.15, 0.15))
    t0 = time.time()
    opt = measure(sample, "optimal")
    dt = (time.time() - t0) / n
    pap = measure(sample, "paper")
    br = [(g, m) for g, m in opt if m["halpha_detected"] and m["snr_halpha"] > 10]
    print(f"{n} KinMS cubes (seed {seed}); {dt:.2f} s per cube (measure_galaxy, optimal)")
    print("Hα total / true      ", stats([m["flux_halpha_total"] / g["flux_halpha"] for g, m in br]))
    print("r'½ / true (resolved)", stats([m["size"]["r_half_corr_arcsec"] / g["r_half"] for g, m in br
                                          if m["size"] and m["size"]["resolved"]]))
    print("Δz [km/s]            ", stats([(m["z"] - g["z"]) / (1 + g["z"]) * C_KMS for g, m in br]))
    print("ΔN2 [dex] (detected) ", stats([np.log10(m["flux_nii6583"] / m["flux_halpha"]) - g["log_n2"]
                                          for g, m in br if m["nii_detected"]]))
    print("Δinc [deg] constr.   ", stats([m["size"]["inclination"] - g["inc"] for g, m in br
                                          if m["kinematics_constrained"]["inclination"]]))
    print("v_max / true constr. ", stats([m["size"]["v_max"] / g["v_max"] for g, m in br
                                          if m["kinematics_constrained"]["v_max"]]))
    for name, rows in (("paper", pap), ("optimal", opt)):
        det = sum(m["halpha_detected"] for _, m in rows)
        print(f"{name:8s} detected {det}/{n}; S/N", stats([m["snr_halpha"] for _, m in rows]))
    print("S/N gain optimal/paper", stats([o["snr_halpha"] / p["snr_halpha"] for (_, o), (_, p) in zip(opt, pap)
                                          if p["snr_halpha"] > 3]))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
