"""The dashboard at ``/ui``: static pages (plain ES modules, no build step) over the authenticated JSON API."""
