import sys

from memstream_client.integrations.mcp.cli import main

sys.exit(main())
