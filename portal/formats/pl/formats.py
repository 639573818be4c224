"""Polish short dates as Poland writes them, "01.12.2026 19:59" (Django's own have a dash and two spaces);
everything else is Django's Polish."""

SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
