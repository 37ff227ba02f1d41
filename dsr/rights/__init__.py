"""One module per right: what a request of that right asks of each source, when it is complete, and its outcome.

| right               | module                 | operations asked of the sources                 |
|---------------------|------------------------|-------------------------------------------------|
| access (Art. 15)    | access.py              | access, bundle                                  |
| portability (20)    | access.py              | access (provided data only), bundle             |
| erasure (17)        | erasure.py             | erasure_plan, erasure                           |
| rectification (16)  | rectification.py       | rectification_plan, rectification              |
| restriction (18)    | restriction.py         | restriction, restriction_lift                   |
| objection (21)      | objection.py           | consent_withdrawal, audience_removal            |
| consent (7(3))      | consent_withdrawal.py  | consent_withdrawal, audience_removal            |

Every right's outcome (outcome.py) is made from the facts its jobs reported;
Art. 19 notices (notices.py) go only where data of a changed kind went.
``rights_register`` hands the runners and handlers to the engine and the
closing hook to the workflow; dsr.apps calls it when the app is ready.
"""

from dsr import workflow
from dsr.engine.registry import handler_register, runner_register
from dsr.rights import access, consent_withdrawal, erasure, objection, rectification, restriction
from dsr.rights.base import rights_closing

MODULES = (access, erasure, rectification, restriction, objection, consent_withdrawal)


def rights_register() -> None:
    """Register every right's job runners and plan handler with the engine, and the closing hook with the workflow."""
    for module in MODULES:
        for operation, runner in module.RUNNERS.items():
            runner_register(operation, runner)
        handler_register(module.HANDLER)
    handler_register(access.PORTABILITY)
    workflow.closing_hook_set(rights_closing)
