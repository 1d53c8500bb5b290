"""IR -> IR rewrites driven by analysis results (parallel loops, index wrap)."""
