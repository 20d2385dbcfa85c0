"""The PDP engine (XACML's "PDP"): a decision request in, a decision out.

- `request`: what is asked (`DecisionRequest`, `RoleClaim`);
- `targets`: what a request is resolved into (`Target`), and what the engine knows of each
  target's policies in a policy set (candidates, the attributes they read, whether those
  alone decide);
- `evaluation`: py-abac evaluation of candidates, combined deny-overrides (`evaluate`);
- `caches`: decisions, facts and evaluations, each with its own staleness rule;
- `decisions`: the `DecisionEngine` that resolves, reads facts, evaluates and caches;
- `result`: the answer (`Result`).

The engine knows nothing of HTTP or of the XACML wire format; `pdp.xacml` and `pdp.api` do.
"""

from pdp.engine.decisions import DecisionEngine
from pdp.engine.evaluation import evaluate
from pdp.engine.request import DecisionRequest, RoleClaim
from pdp.engine.result import Result
from pdp.engine.targets import Target

__all__ = ["DecisionEngine", "DecisionRequest", "Result", "RoleClaim", "Target", "evaluate"]
