#!/usr/bin/env Rscript
# render_svg.R: draw two-arm Kaplan-Meier figures with known truth as SVG files (svglite), for
# measuring trialrecon's SVG reader (benchmarks/bench_digitise.py --format svg).
#
# Usage (from the repository root):
#
#     Rscript benchmarks/render_svg.R KMDATA_DIR OUT_DIR [N]
#
# KMDATA_DIR holds index.csv (dataset, file, n, events, arms, ...) and one CSV per dataset
# (time in months, event 0/1, arm label); OUT_DIR receives svgfig_NNN.svg and manifest.csv (one
# row per figure; its columns follow ../shared/corpus/figures/manifest.csv where they coincide).
# Only two-arm datasets are drawn, the first N of index.csv (all by default). A dataset that
# fails to draw is skipped with a message. Styles are not random: figure k takes style
# ((k - 1) mod 12) + 1 of the table STYLES below, so every style gets about a twelfth of the
# figures; palettes and legend positions cycle on their own, shorter, counters.
#
# Written for trialrecon. MIT licence.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) {
  message("usage: Rscript benchmarks/render_svg.R KMDATA_DIR OUT_DIR [N]")
  quit(status = 2)
}
kmdata_dir <- args[[1]]
out_dir <- args[[2]]
n_max <- if (length(args) >= 3) as.integer(args[[3]]) else .Machine$integer.max

suppressPackageStartupMessages({
  library(survival)
  library(survminer)
  library(svglite)
})

# ------------------------------------------------------------------------------------------
# Styles: one row per style, cycled through in this order (base R and survminer interleaved).
#   renderer     base: plot.survfit + legend() + mtext at-risk table; survminer: ggsurvplot
#   greyscale    black and grey50, the second arm dashed; else two colours, both solid
#   conf_int     shaded 95% bands (survminer only; base R draws none for two arms)
#   censor_mark  "+" or "|"
#   y_scale      proportion (0-1) or percent (survminer's surv.scale = "percent": "25%")
#   las          base R only: 0 = y labels rotated (R's default), 1 = horizontal
STYLES <- data.frame(
  style = c("base-colour-rot", "sm-colour-bar", "sm-grey-plus", "base-grey-rot",
            "sm-colour-plus-ci", "sm-colour-bar-pct", "base-colour-las1", "sm-grey-bar-ci-pct",
            "sm-colour-plus-ci-pct", "base-grey-las1", "sm-grey-plus-pct", "sm-colour-bar-ci"),
  renderer = c("base", "survminer", "survminer", "base", "survminer", "survminer", "base",
               "survminer", "survminer", "base", "survminer", "survminer"),
  greyscale = c(FALSE, FALSE, TRUE, TRUE, FALSE, FALSE, FALSE, TRUE, FALSE, TRUE, TRUE, FALSE),
  conf_int = c(FALSE, FALSE, FALSE, FALSE, TRUE, FALSE, FALSE, TRUE, TRUE, FALSE, FALSE, TRUE),
  censor_mark = c("+", "|", "+", "+", "+", "|", "+", "|", "+", "+", "+", "|"),
  y_scale = c("proportion", "proportion", "proportion", "proportion", "proportion", "percent",
              "proportion", "percent", "percent", "proportion", "percent", "proportion"),
  las = c(0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1),
  stringsAsFactors = FALSE
)
# Two-colour palettes for base R (cycled), and survminer's palettes (ggplot's hue and ggsci's).
BASE_PALETTES <- list(c("#D55E00", "#0072B2"), c("#E41A1C", "#377EB8"),
                      c("#1B9E77", "#7570B3"))
SM_PALETTES <- c("hue", "jco", "lancet", "nejm")
SM_LEGENDS <- c("top", "right")
GREYS <- c("black", "grey50")

# Tick step for the time axis: the smallest round step that puts at most 8 ticks on
# [0, a multiple of the step covering the data] (5 to 8 ticks for the corpus's follow-up;
# steps under a month for a dataset whose times are that short).
pick_break <- function(tmax) {
  for (b in c(0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 3, 6, 12, 18, 24, 36, 48, 60, 120)) {
    if (ceiling(tmax / b) + 1 <= 8) return(b)
  }
  120
}

# The colours survminer draws a palette with, as #rrggbb (for the manifest).
sm_colours <- function(palette) {
  if (palette == "hue") return(scales::hue_pal()(2))
  substr(ggpubr::get_palette(palette, 2), 1, 7)
}

hex <- function(cols) {
  m <- grDevices::col2rgb(cols)
  sprintf("#%02X%02X%02X", m[1, ], m[2, ], m[3, ])
}

# Base R: plot.survfit with '+' marks, a legend, and the numbers at risk written by mtext
# under the x axis at its ticks, the arm names left-aligned at the figure's left edge.
draw_base <- function(file, fit, arms, st, cols, ltys, breaks, xmax, counts) {
  svglite(file, width = 8, height = 6.5)
  on.exit(dev.off(), add = TRUE)
  # Margins: the table's rows under the axis title, and room at the left for the names.
  name_in <- max(strwidth(arms, units = "inches", cex = 1))
  csi <- par("csi")
  par(mar = c(9.5, max(4.6, (name_in + 0.35) / csi), 2, 2))
  plot(fit, col = cols, lty = ltys, lwd = 2, mark.time = TRUE, mark = 3, conf.int = FALSE,
       xlim = c(0, xmax), xaxt = "n", las = st$las, xlab = "Time (months)",
       ylab = "Survival probability")
  axis(1, at = breaks)
  legend("topright", legend = arms, col = cols, lty = ltys, lwd = 2, bty = "n", inset = 0.02)
  left <- grconvertX(0.01, from = "ndc", to = "user")
  mtext("Number at risk", side = 1, line = 4.4, at = left, adj = 0, font = 2)
  for (k in 1:2) {
    line <- 4.4 + 1.3 * k
    mtext(arms[k], side = 1, line = line, at = left, adj = 0,
          col = if (st$greyscale) "black" else cols[k])
    mtext(counts[[k]], side = 1, line = line, at = breaks)
  }
}

# survminer: ggsurvplot with its risk table (rows named by the arm labels).
draw_survminer <- function(file, fit, df, arms, st, palette, breaks, xmax, legend_pos) {
  p <- ggsurvplot(
    fit, data = df, risk.table = TRUE, legend.labs = arms, legend.title = "",
    legend = legend_pos, censor.shape = st$censor_mark, censor.size = 4,
    conf.int = st$conf_int, surv.scale = if (st$y_scale == "percent") "percent" else "default",
    palette = palette, linetype = if (st$greyscale) "strata" else 1,
    xlim = c(0, xmax), break.time.by = breaks[2] - breaks[1],
    xlab = "Time (months)", ylab = "Survival probability", risk.table.height = 0.25,
    ggtheme = theme_survminer()
  )
  svglite(file, width = 7, height = 6)
  on.exit(dev.off(), add = TRUE)
  print(p, newpage = FALSE)
}

# ------------------------------------------------------------------------------------------

index <- read.csv(file.path(kmdata_dir, "index.csv"), stringsAsFactors = FALSE,
                  check.names = FALSE)
two <- index[lengths(strsplit(index$arms, ";", fixed = TRUE)) == 2, , drop = FALSE]
two <- head(two, n_max)
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

started <- Sys.time()
rows <- list()
k <- 0L  # figures drawn: the style counter
for (i in seq_len(nrow(two))) {
  ds <- two[i, ]
  id <- sprintf("svgfig_%03d", i)
  st <- STYLES[(k %% nrow(STYLES)) + 1, ]
  row <- tryCatch({
    df <- read.csv(file.path(kmdata_dir, ds$file), stringsAsFactors = FALSE,
                   check.names = FALSE)
    arms <- strsplit(ds$arms, ";", fixed = TRUE)[[1]]
    if (!setequal(arms, unique(df$arm))) {
      # The data's own labels, in order of first appearance, if index.csv differs.
      arms <- unique(df$arm)
    }
    df$arm <- factor(df$arm, levels = arms)
    fit <- survfit(Surv(time, event) ~ arm, data = df)
    tmax <- max(df$time)
    b <- pick_break(tmax)
    xmax <- b * ceiling(tmax / b)
    breaks <- seq(0, xmax, by = b)
    # Numbers at risk (time >= t) at the ticks, per arm in legend order.
    s <- summary(fit, times = breaks, extend = TRUE)
    counts <- lapply(seq_along(arms), function(j) {
      s$n.risk[as.integer(s$strata) == j]
    })
    file <- file.path(out_dir, paste0(id, ".svg"))
    if (st$renderer == "base") {
      cols <- if (st$greyscale) GREYS else BASE_PALETTES[[(k %/% 12) %% 3 + 1]]
      ltys <- if (st$greyscale) c(1, 2) else c(1, 1)
      draw_base(file, fit, arms, st, cols, ltys, breaks, xmax, counts)
      palette <- if (st$greyscale) "grey" else "base"
      legend_pos <- "topright"
      width <- 8
      height <- 6.5
    } else {
      palette <- if (st$greyscale) "grey" else SM_PALETTES[(k %/% 12) %% 4 + 1]
      cols <- if (st$greyscale) GREYS else sm_colours(palette)
      legend_pos <- SM_LEGENDS[(k %/% 12 + k) %% 2 + 1]
      draw_survminer(file, fit, df, arms, st, if (st$greyscale) GREYS else palette, breaks,
                     xmax, legend_pos)
      width <- 7
      height <- 6
    }
    data.frame(
      figure_id = id, dataset = ds$dataset, truth_file = ds$file,
      vector_file = basename(file), renderer = st$renderer, style = st$style,
      palette = palette, greyscale = st$greyscale, colours = paste(hex(cols), collapse = ";"),
      linetype = if (st$greyscale) "solid;dashed" else "solid;solid",
      conf_int = st$conf_int, censor_mark = st$censor_mark, y_scale = st$y_scale,
      y_labels = if (st$renderer == "base" && st$las == 0) "rotated" else "horizontal",
      x_break = b, x_max = xmax, arm_order = paste(arms, collapse = ";"),
      risk_times = paste(breaks, collapse = ";"),
      risk_counts_1 = paste(counts[[1]], collapse = ";"),
      risk_counts_2 = paste(counts[[2]], collapse = ";"),
      legend_position = legend_pos,
      risk_row_labels = "names", width_in = width, height_in = height, last_time = tmax,
      stringsAsFactors = FALSE
    )
  }, error = function(e) {
    message(sprintf("%s (%s): skipped: %s", id, ds$dataset, conditionMessage(e)))
    NULL
  })
  if (!is.null(row)) {
    rows[[length(rows) + 1]] <- row
    k <- k + 1L
  }
}

manifest <- do.call(rbind, rows)
write.csv(manifest, file.path(out_dir, "manifest.csv"), row.names = FALSE)
elapsed <- as.numeric(difftime(Sys.time(), started, units = "secs"))
message(sprintf("%d figures written to %s in %.0f s (%d datasets skipped)",
                nrow(manifest), out_dir, elapsed, nrow(two) - nrow(manifest)))
