"""The op table: every op's fields, shape rule, counts and reach, in one place."""
