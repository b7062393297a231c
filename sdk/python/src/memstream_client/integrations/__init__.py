"""Framework integrations, each behind its own extra (``pip install 'memstream-client[openai-agents]'``): a module
here imports its framework, so importing ``memstream_client`` alone never needs one."""
