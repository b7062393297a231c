"""The conversation log as a concept: which turns are conversation, and how they fall into sessions."""
