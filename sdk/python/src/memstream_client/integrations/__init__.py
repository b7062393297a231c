"""Agent frameworks on memstream, each behind its own extra (``pip install 'memstream-client[langchain]'``):
importing one needs its framework installed; the client itself never imports them."""
