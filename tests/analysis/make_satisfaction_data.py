"""Write the synthetic satisfaction data set used by the R reference (run once; output committed).

.venv/bin/python tests/analysis/make_satisfaction_data.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent / "data"
STREETS = ["371302001", "371302002", "371302003", "371302004", "371311001", "371311002"]
SIZES = [180, 40, 95, 260, 25, 120]
POP = [42000, 18000, 26000, 61000, 9000, 30000]
AGES = ["18-29", "30-44", "45-59", "60+"]
LABELS = {100: "满意", 80: "基本满意", 60: "一般", 0: "不满意"}


def main() -> None:
    rng = np.random.default_rng(20260301)
    rows = []
    for street, size, pop in zip(STREETS, SIZES, POP, strict=True):
        base = pop / size
        quality = rng.uniform(-0.6, 0.8)
        for _ in range(size):
            sex = "female" if rng.random() < 0.58 else "male"  # women over-represented
            age = AGES[int(rng.choice(4, p=[0.12, 0.22, 0.33, 0.33]))]
            tilt = quality + (0.4 if age == "60+" else 0.0) - (0.3 if sex == "male" else 0.0)
            probs = np.exp(np.array([1.2, 1.0, 0.3, -0.5]) * (1 + tilt))
            score = [100, 80, 60, 0][int(rng.choice(4, p=probs / probs.sum()))]
            blank = rng.random() < 0.06
            rows.append(
                {
                    "street": street,
                    "sex": sex,
                    "age_group": age,
                    "weight": f"{base * rng.uniform(0.8, 1.25):.6f}",
                    "score": "" if blank else str(score),
                    "answer": "不了解" if blank else LABELS[score],
                }
            )
    HERE.mkdir(exist_ok=True)
    with (HERE / "satisfaction.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    total = float(sum(POP))
    margins = [("street", s, float(p)) for s, p in zip(STREETS, POP, strict=True)]
    sex_share = {"male": 0.49, "female": 0.51}
    age_share = dict(zip(AGES, [0.21, 0.27, 0.28, 0.24], strict=True))
    margins += [("sex", k, total * v) for k, v in sex_share.items()]
    margins += [("age_group", k, total * v) for k, v in age_share.items()]
    with (HERE / "satisfaction_margins.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["variable", "level", "total"])
        for var, level, value in margins:
            writer.writerow([var, level, f"{value:.1f}"])


if __name__ == "__main__":
    main()
