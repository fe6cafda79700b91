"""Volunteer service (志愿服务): activities, sign-ups, check-in and out, hours, star levels,
the read side (lists, totals, exports) and service certificates."""
