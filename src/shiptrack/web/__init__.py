"""Pages for people: the operator console (``/console``) and the public tracking page (``/t/``).

Server-rendered HTML from the same app as the API: Jinja2 templates and one stylesheet shipped in
the package, no front-end build, no CDN, readable with JavaScript off. Page routes are thin like
the API's: they ask the use cases (``shiptrack.services``) and render what they get.
"""
