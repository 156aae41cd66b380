"""What grading tells people: points per part, the class report, and Markdown tables."""

from __future__ import annotations

from pathlib import Path

from .assignment import ASSIGNMENT, GradedCell


def part_points(got: dict[str, dict], cells: dict[str, GradedCell], key: str = "score") -> dict:
    """One student's *key* ('score' or 'max_score') summed per part, over the automatic
    cells ('auto') and over everything ('total')."""
    row = {part: 0.0 for part in sorted({c.part for c in cells.values()})}
    row["auto"] = 0.0
    for grade_id, cell in cells.items():
        if grade_id in got:
            row[cell.part] += got[grade_id][key]
            if cell.automatic:
                row["auto"] += got[grade_id][key]
    row["total"] = sum(c[key] for c in got.values())
    return row


def score_table(scores: dict[str, dict[str, dict]], cells: dict[str, GradedCell]):
    """A per-student table: 'points/of' per part and automatic, and what awaits a human grader."""
    import pandas as pd

    rows = []
    for student, got in sorted(scores.items()):
        points, of = part_points(got, cells), part_points(got, cells, "max_score")
        row: dict[str, object] = {"student": student}
        row.update({column: f"{points[column]:g}/{of[column]:g}"
                    for column in points if column != "total"})
        pending = sum(c["max_score"] for c in got.values() if c["needs_manual"])
        row["to grade by hand"] = f"{pending:g} pts"
        rows.append(row)
    return pd.DataFrame(rows).set_index("student")


def markdown_table(header: list[str], rows: list[list], align: str = "") -> str:
    """A Markdown table; *align* has one letter per column, 'l' or 'r' (default all left)."""
    align = align.ljust(len(header), "l")
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def class_report(scores: dict[str, dict[str, dict]], status: dict[str, dict],
                 cells: dict[str, GradedCell], out_dir: Path) -> tuple[Path, Path]:
    """Write per-student scores (CSV) and a one-page picture of the class (PNG)."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for student in sorted(set(scores) | set(status)):
        row = {"student": student, "status": status.get(student, {}).get("status", "graded"),
               "seconds": status.get(student, {}).get("seconds")}
        row.update(part_points(scores.get(student, {}), cells))
        rows.append(row)
    table = pd.DataFrame(rows).set_index("student")
    csv = out_dir / "scores.csv"
    table.to_csv(csv)

    tests = [g for g, c in cells.items() if c.automatic]
    pass_rate = pd.Series({g: sum(1 for s in scores.values() if g in s and s[g]["score"] == s[g]["max_score"])
                           / max(len(scores), 1) for g in tests})
    max_auto = sum(cells[g].points for g in tests) or 1
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [1, 1.6, 1]})
    axes[0].hist(table["auto"], bins=range(0, int(max_auto) + 2), color="tab:blue", edgecolor="white")
    axes[0].set(title=f"Automatic score (of {max_auto:g})", xlabel="points", ylabel="students")
    axes[0].yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes[1].barh(pass_rate.index[::-1], pass_rate.values[::-1] * 100, color="tab:green")
    axes[1].set(title="Test cells passed", xlabel="% of submissions", xlim=(0, 100))
    axes[1].tick_params(axis="y", labelsize=8)
    slowest = table["seconds"].dropna().sort_values().tail(10)
    colours = ["tab:red" if table.loc[s, "status"] != "graded" else "tab:gray" for s in slowest.index]
    axes[2].barh(slowest.index, slowest.values, color=colours)
    axes[2].set(title="Slowest submissions (red: not graded)", xlabel="seconds")
    counts = table["status"].value_counts().to_dict()
    fig.suptitle(f"{ASSIGNMENT}: {len(table)} submissions, "
                 + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    fig.tight_layout()
    png = out_dir / "class_report.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return csv, png
