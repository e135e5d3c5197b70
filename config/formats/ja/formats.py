# One date and time format on every page, report and CSV (issue 14): 2026/12/03 09:24,
# dates 2026/12/03, in Tokyo time (TIME_ZONE). Names not set here fall back to Django's
# own formats for the language (input formats, first day of week…).
DATE_FORMAT = "Y/m/d"
DATETIME_FORMAT = "Y/m/d H:i"
SHORT_DATE_FORMAT = "Y/m/d"
SHORT_DATETIME_FORMAT = "Y/m/d H:i"
YEAR_MONTH_FORMAT = "Y/m"
MONTH_DAY_FORMAT = "m/d"
TIME_FORMAT = "H:i"
