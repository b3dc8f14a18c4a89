"""``archsolve plan``: a segmentation U-Net from the data's shape and spacing and a memory
budget (:func:`plan_network`)."""

from archsolve.plan.network import Design
from archsolve.plan.planner import Plan, PlanRequest, plan_network

__all__ = ["Design", "Plan", "PlanRequest", "plan_network"]
