"""Run folders: the files a run writes, writing them atomically, and finding runs on disk."""
