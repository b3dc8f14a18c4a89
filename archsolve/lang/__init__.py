"""The spec language's building blocks: YAML reading, expressions, linear forms."""
