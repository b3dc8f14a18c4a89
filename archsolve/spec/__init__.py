"""A spec file as data: the model, its loader, var and field domains, the JSON Schema."""
