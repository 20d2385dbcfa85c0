"""The PDP engine (XACML's "PDP"): a decision request in, a decision out.

- `request`: what is asked (`DecisionRequest` about a package, `ResourceRequest` about a
  service resource, `Unreadable` for a request the context handler could not read);
- `targets`: what a request is resolved into (`Target`), and what the engine knows of each
  target's policies in a policy set (candidates, the attributes they read, whether those
  alone decide);
- `evaluation`: py-abac evaluation of candidates, combined deny-overrides (`evaluate`);
- `caches`: decisions, facts and evaluations, each with its own staleness rule;
- `decisions`: the `DecisionEngine` that resolves, reads facts, evaluates and caches;
- `resources`: a service resource request decided under its policy (`pdp.combining`), with
  the packages it asks for decided by the same engine;
- `result`: the answer (`Result`);
- `trace`: what the engine did while deciding one request, noted when it is asked to explain.

The engine knows nothing of HTTP or of the XACML wire format; `pdp.xacml` and `pdp.api` do.
"""

from pdp.engine.decisions import DecisionEngine
from pdp.engine.evaluation import evaluate
from pdp.engine.request import DecisionRequest, RoleClaim
from pdp.engine.result import Result
from pdp.engine.targets import Target

__all__ = ["DecisionEngine", "DecisionRequest", "Result", "RoleClaim", "Target", "evaluate"]
