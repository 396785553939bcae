"""The PNG charts of `claims report complaints --charts` (matplotlib, imported only when
charts are asked for: it is the optional `charts` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _label(key: str) -> str:
    return key.replace("_", " ")


def write_charts(measures: dict[str, Any], folder: Path | str) -> list[Path]:
    """Three PNG charts (English labels: CJK fonts may be missing): the monthly volume trend,
    volume by category and volume by channel. Returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def chart(name: str, title: str, xlabel: str, draw: Any) -> None:
        """One figure: `draw(ax)` plots the data and returns the largest value (None: no data)."""
        fig, ax = plt.subplots(figsize=(9, 4.8))
        top = draw(ax)
        if top is None:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no complaints", ha="center", va="center", fontsize=14)
        else:
            ax.set_ylim(0, top * 1.2 + 1)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(axis="y", alpha=0.3)
            if len(ax.get_xticks()) > 5:
                plt.setp(ax.get_xticklabels(), rotation=35, ha="right", rotation_mode="anchor")
        ax.set_title(title, fontsize=14)
        ax.set_xlabel(xlabel, fontsize=11)
        ax.set_ylabel("Complaints", fontsize=11)
        fig.tight_layout()
        path = folder / name
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)

    def trend(ax: Any) -> int | None:
        months: dict[str, int] = measures.get("by_month") or {}
        if not months:
            return None
        xs, ys = list(months), list(months.values())
        ax.plot(xs, ys, marker="o", linewidth=2, color="#1f77b4")
        for x, y in zip(xs, ys, strict=True):
            ax.annotate(
                str(y), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=10
            )
        return max(ys)

    def bars(field: str, color: str) -> Any:
        def draw(ax: Any) -> int | None:
            counts: dict[str, int] = measures.get(field) or {}
            if not counts:
                return None
            drawn = ax.bar([_label(k) for k in counts], list(counts.values()), color=color)
            ax.bar_label(drawn, fontsize=10)
            return max(counts.values())

        return draw

    chart("complaints_by_month.png", "Complaints received per month", "Month received", trend)
    chart(
        "complaints_by_category.png",
        "Complaints by category",
        "Category",
        bars("by_category", "#ff7f0e"),
    )
    chart(
        "complaints_by_channel.png",
        "Complaints by channel",
        "Channel",
        bars("by_channel", "#2ca02c"),
    )
    return written
