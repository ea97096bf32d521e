"""The shared category taxonomy every partnership's areas of disagreement map to.

Business units compare themes across partnerships by these categories (issue 2).
"""

CATEGORIES: dict[str, str] = {
    "referral-threshold": "Referral or threshold",
    "assessment": "Assessment",
    "plan-implementation": "Plan implementation",
    "plan-effectiveness": "Plan effectiveness or drift",
    "information-sharing": "Information sharing",
    "cp-conference-decision": "Child protection conference decision",
    "provision-of-services": "Provision of services",
    "roles-responsibilities": "Roles and responsibilities",
    "communication": "Communication",
    "other": "Other",
}
