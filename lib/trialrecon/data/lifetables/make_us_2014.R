# Writes us-2014.csv beside this script: the United States general-population mortality of
# 2014 by single year of age (0-109) and sex, from the US life tables of the National Center
# for Health Statistics as R survival packages them (survexp.us, daily hazards by age, sex and
# calendar year), converted to hazards per year (x 365.25).
# Run from the repository root:  Rscript lib/trialrecon/data/lifetables/make_us_2014.R
suppressPackageStartupMessages(library(survival))
year <- "2014"
ages <- as.character(0:109)
out <- rbind(
  data.frame(age = 0:109, sex = "male", hazard_per_year = survexp.us[ages, "male", year] * 365.25),
  data.frame(age = 0:109, sex = "female", hazard_per_year = survexp.us[ages, "female", year] * 365.25))
path <- "lib/trialrecon/data/lifetables/us-2014.csv"
con <- file(path, "w")
writeLines(c(
  "# United States, calendar year 2014: hazard of death per person-year by single year of age and sex.",
  "# Source: US life tables of the National Center for Health Statistics (NCHS), as tabulated in",
  sprintf("# R survival %s's survexp.us (daily hazards x 365.25); made by make_us_2014.R beside this file.",
          format(packageVersion("survival")))), con)
write.csv(transform(out, hazard_per_year = signif(hazard_per_year, 8)), con, row.names = FALSE,
          quote = FALSE)
close(con)
cat(nrow(out), "rows written to", path, "\n")
