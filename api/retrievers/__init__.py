"""The four retrievers of hybrid search. Each returns memory ids ranked best first, nothing else:
rows, scope checks and fusion happen once, in ``api.search``."""
