# Reference values for trialrecon.analysis.proportional_hazards_test: R survival's cox.zph
# (Grambsch-Therneau test, survival >= 3.0) on two-arm corpus datasets.
# Run from the repository root:  Rscript tests/reference/make_cox_zph.R [KMDATA]
# Writes tests/reference/cox_zph.csv, and cox_zph_residuals.csv and cox_zph_smooth.csv (see
# the end), all read by tests/test_analysis.py; the tests never run R.
# The second arm in order of appearance is coded 1 (as the test does); ties by Efron's method.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(TRUE)
kmdata <- if (length(args)) args[1] else "../shared/corpus/kmdata"
files <- sort(list.files(kmdata, pattern = "\\.csv$"))
files <- files[seq(1, length(files), by = 7)]  # every 7th dataset, deterministic
rows <- list()
kept <- character()
for (f in files) {
  d <- read.csv(file.path(kmdata, f))
  arms <- unique(d$arm)
  if (length(arms) != 2) next
  kept <- c(kept, f)
  d$x <- as.numeric(d$arm == arms[2])
  fit <- coxph(Surv(time, event) ~ x, data = d, ties = "efron")
  for (tr in c("km", "rank", "identity", "log")) {
    z <- cox.zph(fit, transform = tr)
    rows[[length(rows) + 1]] <- data.frame(
      dataset = sub("\\.csv$", "", f), transform = tr, coef = unname(coef(fit)),
      chisq = z$table[1, "chisq"], p = z$table[1, "p"],
      first_residuals = paste(signif(sort(z$y[, 1])[1:3], 10), collapse = ";"))
  }
}
out <- do.call(rbind, rows)
con <- file("tests/reference/cox_zph.csv", "w")
writeLines(sprintf("# R %s, survival %s; made by tests/reference/make_cox_zph.R",
                   paste(R.version$major, R.version$minor, sep = "."),
                   format(packageVersion("survival"))), con)
write.csv(out, con, row.names = FALSE)
close(con)
cat(nrow(out), "rows written\n")
# The scaled Schoenfeld residuals (cox.zph's y, with its x: the transformed time, for each
# transform) and the smooth that plot.cox.zph draws through them (its natural spline, df = 4,
# at 40 points, with a band of 2 standard errors; its code, as of survival 3.5.3, run here
# without the plotting), for the first three datasets above. Written beside the table as
# tests/reference/cox_zph_residuals.csv and tests/reference/cox_zph_smooth.csv.
smooth_zph <- function(z, df = 4, nsmo = 40) {
  xx <- z$x
  yy <- z$y[, 1]
  pred.x <- seq(from = min(xx), to = max(xx), length = nsmo)
  lmat <- splines::ns(c(pred.x, xx), df = df, intercept = TRUE)
  pmat <- lmat[1:nsmo, ]
  xmat <- lmat[-(1:nsmo), ]
  qmat <- qr(xmat)
  yhat <- as.vector(pmat %*% qr.coef(qmat, yy))
  bk <- backsolve(qmat$qr[1:df, 1:df], diag(df))
  xtx <- bk %*% t(bk)
  seval <- as.vector(((pmat %*% xtx) * pmat) %*% rep(1, df))
  half <- 2 * sqrt(z$var[1, 1] * seval)
  data.frame(x = pred.x, fit = yhat, lower = yhat - half, upper = yhat + half)
}
resid_rows <- list()
smooth_rows <- list()
for (f in head(kept, 3)) {
  d <- read.csv(file.path(kmdata, f))
  arms <- unique(d$arm)
  d$x <- as.numeric(d$arm == arms[2])
  fit <- coxph(Surv(time, event) ~ x, data = d, ties = "efron")
  name <- sub("\\.csv$", "", f)
  zs <- lapply(c(km = "km", rank = "rank", identity = "identity", log = "log"),
               function(tr) cox.zph(fit, transform = tr))
  resid_rows[[name]] <- data.frame(
    dataset = name, time = zs$km$time, residual = zs$km$y[, 1], x_km = zs$km$x,
    x_rank = zs$rank$x, x_identity = zs$identity$x, x_log = zs$log$x)
  for (tr in names(zs)) {
    smooth_rows[[paste(name, tr)]] <- cbind(data.frame(dataset = name, transform = tr),
                                            smooth_zph(zs[[tr]]))
  }
}
header <- sprintf("# R %s, survival %s; made by tests/reference/make_cox_zph.R",
                  paste(R.version$major, R.version$minor, sep = "."),
                  format(packageVersion("survival")))
for (part in list(list("tests/reference/cox_zph_residuals.csv", resid_rows),
                  list("tests/reference/cox_zph_smooth.csv", smooth_rows))) {
  con <- file(part[[1]], "w")
  writeLines(header, con)
  write.csv(do.call(rbind, part[[2]]), con, row.names = FALSE)
  close(con)
}
cat("residuals and smooths of", length(resid_rows), "datasets written\n")
