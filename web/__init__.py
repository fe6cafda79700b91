"""The resident's light web page (我的积分): Starlette routes and Jinja2 templates over core.

A client of core, like pages/ and ui/: core never imports it (.importlinter). Templates only
format what core.public.resident_page returns."""
