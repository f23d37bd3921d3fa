"""Raster prints of the SVG figures that ``benchmarks/render_svg.R`` draws, for measuring the
raster reader on figures that a second renderer drew.

The corpus rasters (``../shared/corpus/figures``) all come out of R's own graphics devices.
Here every SVG of ``--svg-dir`` is rasterised by librsvg instead (the Debian program
``rsvg-convert``, package ``librsvg2-bin``), which anti-aliases, hints and places text its own
way, and JPEG prints are then compressed by Pillow. Each figure gets one print; the prints are
not random but cycle through ``PRINTS`` below in figure order, so a figure keeps its print
whether it is rendered alone (``--figures``) or with the rest.

The SVGs are sized in points (1/72 inch), so a print at ``d`` dpi is the SVG scaled by d/72;
rsvg-convert does that with ``--dpi-x d --dpi-y d``. ``-b white`` paints the page white first
(svglite draws a white rectangle as well; this also covers an SVG without one).

``--out-dir`` receives ``<figure_id>.png`` or ``<figure_id>.jpg`` and ``manifest.csv``: the
SVG manifest's columns (``vector_file`` still names the SVG, relative to ``--svg-dir``) plus
``raster_file``, ``raster_format`` (png|jpeg), ``dpi_or_quality`` (the dpi for PNG; ``qNN``,
the JPEG quality, for JPEG, as in the corpus manifest), ``raster_dpi`` and ``svg_dir``.
Measure them with::

    .venv/bin/python benchmarks/render_rasters.py
    .venv/bin/python benchmarks/bench_digitise.py --format raster \\
        --raster-dir /tmp/trialrecon-rasters
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from PIL import Image

SVG_DIR = Path("/tmp/trialrecon-svg")
OUT_DIR = Path("/tmp/trialrecon-rasters")

#: The print cycle, one slot per figure in figure order: (format, dpi). Seven slots, so that
#: the cycle does not line up with render_svg.R's twelve styles (7 and 12 share no factor: over
#: 84 figures every style meets every slot). 150 dpi PNG, the commonest print in the corpus,
#: takes two slots; the JPEG slots take their quality from ``JPEG_QUALITIES``.
PRINTS: list[tuple[str, int]] = [("png", 100), ("png", 150), ("png", 200), ("png", 300),
                                 ("jpeg", 150), ("png", 150), ("jpeg", 200)]
#: JPEG qualities, taken in turn by the successive JPEG prints (the k-th JPEG gets
#: ``JPEG_QUALITIES[k % 7]``); seven values again, so both JPEG resolutions meet every quality.
JPEG_QUALITIES = [60, 65, 70, 75, 80, 85, 90]


def print_plan(figure_ids: list[str]) -> dict[str, tuple[str, int, int | None]]:
    """Each figure's print, ``(format, dpi, jpeg quality or None)``, from its rank among
    ``figure_ids`` (all of the manifest's figures, sorted)."""
    plan: dict[str, tuple[str, int, int | None]] = {}
    jpegs = 0  # JPEG prints handed out so far: picks the next quality
    for rank, figure in enumerate(sorted(figure_ids)):
        form, dpi = PRINTS[rank % len(PRINTS)]
        quality = None
        if form == "jpeg":
            quality = JPEG_QUALITIES[jpegs % len(JPEG_QUALITIES)]
            jpegs += 1
        plan[figure] = (form, dpi, quality)
    return plan


def rasterise(svg: Path, png: Path, dpi: int, rsvg: str) -> None:
    """Render ``svg`` to ``png`` at ``dpi`` with rsvg-convert on a white page."""
    result = subprocess.run([rsvg, "--dpi-x", str(dpi), "--dpi-y", str(dpi),
                             "--background-color", "white", "--format", "png",
                             "--output", str(png), str(svg)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 or not png.is_file():
        raise RuntimeError(f"rsvg-convert failed on {svg.name}: {result.stderr.strip()[:300]}")


def render_one(row: pd.Series, svg_dir: Path, out_dir: Path,
               plan: tuple[str, int, int | None], rsvg: str) -> dict:
    """Make one figure's print; the manifest columns that describe it."""
    form, dpi, quality = plan
    svg = svg_dir / row.vector_file
    if form == "png":
        target = out_dir / f"{row.figure_id}.png"
        rasterise(svg, target, dpi, rsvg)
    else:
        target = out_dir / f"{row.figure_id}.jpg"
        # rsvg-convert writes no JPEG: render a PNG at the same dpi beside it, then compress.
        with tempfile.TemporaryDirectory(dir=out_dir) as scratch:
            png = Path(scratch) / "page.png"
            rasterise(svg, png, dpi, rsvg)
            with Image.open(png) as image:
                # -b white already gives an opaque page; flatten on white all the same, in case
                # an rsvg-convert build keeps an alpha channel.
                page = Image.new("RGB", image.size, "white")
                rgba = image.convert("RGBA")
                page.paste(rgba, mask=rgba.getchannel("A"))
            page.save(target, "JPEG", quality=quality, dpi=(dpi, dpi))
    # The page should be the manifest's inches times the dpi (rounded either way by rsvg).
    with Image.open(target) as image:
        size = image.size
    want = (row.width_in * dpi, row.height_in * dpi)
    if any(abs(got - w) > 1.5 for got, w in zip(size, want, strict=True)):
        print(f"  {row.figure_id}: {size[0]}x{size[1]} px, expected about "
              f"{want[0]:.0f}x{want[1]:.0f} from {row.width_in}x{row.height_in} in at {dpi} dpi",
              file=sys.stderr)
    return {"raster_file": target.name, "raster_format": form,
            "dpi_or_quality": str(dpi) if form == "png" else f"q{quality}",
            "raster_dpi": dpi, "svg_dir": str(svg_dir)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--svg-dir", type=Path, default=SVG_DIR,
                        help=f"SVG figures and their manifest.csv (default: {SVG_DIR})")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR,
                        help=f"where the rasters and manifest.csv go (default: {OUT_DIR})")
    parser.add_argument("--figures", help="comma-separated figure ids (default: all); the "
                        "manifest then lists only these")
    args = parser.parse_args(argv)
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        print("rsvg-convert not found: install the Debian package librsvg2-bin")
        return 2
    if not (args.svg_dir / "manifest.csv").is_file():
        print(f"{args.svg_dir} has no manifest.csv: run `Rscript benchmarks/render_svg.R "
              f"../shared/corpus/kmdata {args.svg_dir}` first")
        return 2
    manifest = pd.read_csv(args.svg_dir / "manifest.csv")
    # Prints are planned over the whole manifest, before any --figures selection.
    plan = print_plan(manifest.figure_id.tolist())
    if args.figures:
        manifest = manifest[manifest.figure_id.isin(args.figures.split(","))]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, failed = [], []
    for _, row in manifest.iterrows():
        try:
            rows.append(row.to_dict() | render_one(row, args.svg_dir, args.out_dir,
                                                   plan[row.figure_id], rsvg))
        except (RuntimeError, OSError) as exc:  # keep going; report the figure at the end
            failed.append(f"{row.figure_id}: {exc}")
    out = pd.DataFrame(rows)
    out.to_csv(args.out_dir / "manifest.csv", index=False)
    print(f"{len(out)} rasters in {args.out_dir} ({time.perf_counter() - t0:.1f} s)")
    if not out.empty:
        counts = out.groupby(["raster_format", "raster_dpi"]).size()
        print("  " + ", ".join(f"{form} {dpi} dpi: {n}" for (form, dpi), n in counts.items()))
    for line in failed:
        print(f"  not rendered: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
