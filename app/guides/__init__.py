"""Interview guides (topics and questions, versioned) and links from transcript turns to them."""
