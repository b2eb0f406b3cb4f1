"""The equity chart of a backtest (`corral backtest --out`): the value of what the session held
at each step, in the starting asset, against the block, drawn to a PNG without a display."""

from __future__ import annotations

from pathlib import Path

from corral.v1 import orchestrator_pb2 as pb


def write_equity_chart(report: pb.BacktestReport, title: str, path: Path) -> bool:
    """Draws the valued steps to `path`; False (nothing written) when no step was valued."""
    points = [(step.block, int(step.equity)) for step in report.steps if step.equity]
    if not points:
        return False
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(9, 4.5), dpi=100)
    try:
        blocks, equity = zip(*points, strict=True)
        axes.plot(blocks, equity, marker="o", linewidth=1.5)
        axes.axhline(int(report.starting_amount), color="grey", linestyle="--", linewidth=1, label="allocation")
        axes.set_xlabel("block")
        axes.set_ylabel("equity (starting asset, smallest unit)")
        axes.set_title(title)
        axes.ticklabel_format(axis="both", style="plain", useOffset=False)
        axes.legend(loc="best")
        axes.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        pyplot.close(figure)
    return True
