"""``archsolve plan``: a segmentation U-Net from the data's shape and spacing and a memory
budget (:func:`plan_network`)."""

from archsolve.planning.network import Design
from archsolve.planning.planner import Plan, PlanRequest, plan_network

__all__ = ["Design", "Plan", "PlanRequest", "plan_network"]
