# The controller is European: "22 November 2026", not "Nov. 22, 2026".
DATE_FORMAT = "j F Y"
