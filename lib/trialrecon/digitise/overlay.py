"""The figure with what was read drawn over it, so that a person can check it at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import Axis, Digitised

#: Resolution of the page image under the overlay, dots per inch.
RESOLUTION = 110
#: Colours the arms as read are drawn in (dark and apart from each other, over a faded page).
READ_COLOURS = ("#c2008c", "#006d9c", "#b35900", "#2e7d32")


def _to_page(axis: Axis, values: np.ndarray) -> np.ndarray:
    """Page positions of axis values (the inverse of the axis's calibration)."""
    slope, intercept = np.polyfit(np.array(axis.values), np.array(axis.positions), 1)
    return intercept + slope * np.asarray(values, float)


def write_overlay(read: Digitised, figure: Path, page: int | None, out: Path) -> None:
    """Draw ``read`` over the figure it came from and save it as a PNG at ``out``.

    Each arm's curve is drawn as a thin dashed line over the drawn one (a colour of its own on
    a white underlay), the censoring marks as small circles in that colour, the numbers at
    risk in boxes at the positions they were read for, and the calibrated ticks as short red
    marks, so that a misread curve, axis or cell stands out. ``figure`` is a PDF (its
    ``page``), a raster image, or an SVG (drawn again here from its strokes and words).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if figure.suffix.lower() == ".pdf":
        import pdfplumber

        with pdfplumber.open(figure) as doc:
            pg = doc.pages[(page or 1) - 1]
            image = pg.to_image(resolution=RESOLUTION).original
            width, height = float(pg.width), float(pg.height)
        unit = 1.0  # the axes' coordinates are points
    elif figure.suffix.lower() == ".svg":
        from .svg import parse

        drawing = parse(figure)  # drawn again from its strokes and words (no SVG renderer)
        image, width, height = None, drawing.width, drawing.height
        unit = 1.0
    else:
        from .raster import load

        image = load(figure)
        height, width = float(image.shape[0]), float(image.shape[1])
        # The axes' coordinates are pixels: marks are sized as on a page of RESOLUTION dpi.
        unit = width / (width / RESOLUTION * 72)
    fig = plt.figure(figsize=(width / unit / 72, height / unit / 72), dpi=RESOLUTION)
    ax = fig.add_axes((0, 0, 1, 1))
    if image is not None:
        ax.imshow(image, extent=(0, width, height, 0), alpha=0.45)
    else:
        for stroke in drawing.lines + drawing.curves:
            xy = np.asarray(stroke["pts"])
            colour = stroke["stroking_color"] or stroke["non_stroking_color"] or (0, 0, 0)
            ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=0.8, alpha=0.45)
        for word in drawing.words:
            ax.text(word["x0"], word["bottom"], word["text"], fontsize=5.5, alpha=0.6,
                    va="bottom", ha="left")
    scale = 100.0 if read.survival_axis.unit == "percent" else 1.0
    for k, arm in enumerate(read.arms):
        curve, at_risk, marks = read.arm(arm)
        ink = READ_COLOURS[k % len(READ_COLOURS)]
        x = _to_page(read.time_axis, curve.time.to_numpy())
        y = _to_page(read.survival_axis, curve.survival.to_numpy() * scale)
        # A right-continuous step function through its points, as reconstruct reads it.
        ax.step(x, y, where="post", color="white", lw=2.2)
        ax.step(x, y, where="post", color=ink, lw=0.9, ls=(0, (3, 2)), label=f"read: {arm}")
        if len(marks):
            at = np.interp(marks.time.to_numpy(), curve.time.to_numpy(),
                           curve.survival.to_numpy())
            ax.plot(_to_page(read.time_axis, marks.time.to_numpy()),
                    _to_page(read.survival_axis, at * scale), "o", ms=3, mfc="none",
                    mec=ink, mew=0.6)
        bottom = max(read.survival_axis.positions)
        row = list(read.arms).index(arm)
        for t, n in zip(at_risk.time, at_risk.n_at_risk, strict=True):
            ax.text(float(_to_page(read.time_axis, np.array([t]))[0]),
                    bottom + (28 + 11 * row) * unit,
                    f"{arm}: {n}" if t == at_risk.time.min() else str(n), fontsize=5,
                    ha="center", va="center", color="black",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "yellow", "alpha": 0.6,
                          "lw": 0})
    for axis, vertical in ((read.time_axis, False), (read.survival_axis, True)):
        for p in axis.positions:
            if vertical:
                ax.plot([min(read.time_axis.positions) - 6 * unit] * 2,
                        [p - 2 * unit, p + 2 * unit], color="red", lw=1)
            else:
                ax.plot([p, p], [max(read.survival_axis.positions) + 4 * unit] * 2, "|",
                        color="red", ms=6)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    ax.legend(loc="upper right", fontsize=6, framealpha=0.8,
              title="read by trialrecon (dashed); ticks used (red)", title_fontsize=6)
    fig.savefig(out, format="png")
    plt.close(fig)
