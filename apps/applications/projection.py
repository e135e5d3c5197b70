"""The retail projection: exactly what retail may ever see of an application.

It is built from the shared tables alone (no vault), encoded with the application and
hashed, shown to the supervisor beside the T&D data, and served to retail. Street
address and postal code stay on the T&D side: with a new building they point at one
household. Free-text fields that retail sees are leak-scanned before encoding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .states import PREFECTURES, ApplicationState, ContractClass

if TYPE_CHECKING:
    from .models import Application

# Retail-visible free text, in the order the scanner reports them.
SCANNED_FIELDS = ("municipality", "contractor_name", "remarks")

# The columns a retail query may load. Nothing else of the row is ever read for retail.
RETAIL_COLUMNS = (
    "id",
    "reference",
    "pseudonym",
    "supply_point_id",
    "prefecture",
    "municipality",
    "contract_class",
    "contract_capacity_kw",
    "requested_start_date",
    "contractor_name",
    "remarks",
    "state",
    "retailer__code",
    "retailer__name",
    "verified_at",
)

_PREFECTURE_NAMES = dict(PREFECTURES)


@dataclass(frozen=True)
class RetailApplication:
    reference: str
    pseudonym: str
    supply_point_id: str
    prefecture: str
    municipality: str
    contract_class: str
    contract_capacity_kw: Decimal
    requested_start_date: date
    contractor_name: str
    remarks: str
    retailer_code: str
    retailer_name: str
    state: str

    @property
    def contract_class_label(self) -> str:
        return str(ContractClass(self.contract_class).label)

    @property
    def state_label(self) -> str:
        return str(ApplicationState(self.state).label)

    def hashable(self) -> dict[str, Any]:
        """The content a supervisor verifies; progress fields are left out on purpose."""
        data = asdict(self)
        data.pop("state")
        return data


def projection_from_row(row: dict[str, Any]) -> RetailApplication:
    return RetailApplication(
        reference=row["reference"] or "",
        pseudonym=row["pseudonym"],
        supply_point_id=row["supply_point_id"],
        prefecture=_PREFECTURE_NAMES.get(row["prefecture"], ""),
        municipality=row["municipality"],
        contract_class=row["contract_class"],
        contract_capacity_kw=row["contract_capacity_kw"],
        requested_start_date=row["requested_start_date"],
        contractor_name=row["contractor_name"],
        remarks=row["remarks"],
        retailer_code=row["retailer__code"],
        retailer_name=row["retailer__name"],
        state=row["state"],
    )


def project(application: Application) -> RetailApplication:
    return RetailApplication(
        reference=application.reference or "",
        pseudonym=application.pseudonym,
        supply_point_id=application.supply_point_id,
        prefecture=_PREFECTURE_NAMES.get(application.prefecture, ""),
        municipality=application.municipality,
        contract_class=application.contract_class,
        contract_capacity_kw=application.contract_capacity_kw,
        requested_start_date=application.requested_start_date,
        contractor_name=application.contractor_name,
        remarks=application.remarks,
        retailer_code=application.retailer.code,
        retailer_name=application.retailer.name,
        state=application.state,
    )


def projection_hash(projection: RetailApplication) -> str:
    canonical = json.dumps(projection.hashable(), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def scanned_texts(application: Application) -> dict[str, str]:
    return {name: str(getattr(application, name) or "") for name in SCANNED_FIELDS}
