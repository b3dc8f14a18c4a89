"""The op table, the one place for op facts: fields and shape rules (``base``, ``rules``), torch
forms (``torchform``) and each op's entry (``table``)."""
