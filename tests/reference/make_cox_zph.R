# Reference values for trialrecon.analysis.proportional_hazards_test: R survival's cox.zph
# (Grambsch-Therneau test, survival >= 3.0) on two-arm corpus datasets.
# Run from the repository root:  Rscript tests/reference/make_cox_zph.R [KMDATA]
# Writes tests/reference/cox_zph.csv (read by tests/test_analysis.py; the tests never run R).
# The second arm in order of appearance is coded 1 (as the test does); ties by Efron's method.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(TRUE)
kmdata <- if (length(args)) args[1] else "../shared/corpus/kmdata"
files <- sort(list.files(kmdata, pattern = "\\.csv$"))
files <- files[seq(1, length(files), by = 7)]  # every 7th dataset, deterministic
rows <- list()
for (f in files) {
  d <- read.csv(file.path(kmdata, f))
  arms <- unique(d$arm)
  if (length(arms) != 2) next
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
