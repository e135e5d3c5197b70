"""The auditors' investigation report page: ask for a period and a source, follow the
run, read the regulator's table and its timeline, download the CSV and the JSON.

The run happens in a task (apps.exposure.tasks); the run page shows its progress and a
static script refreshes it until the run is finished. Every request for a report and
every download is an audit event."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts.models import RoleCode
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.exposure.models import ExposureRun, RunStatus
from apps.exposure.output import as_csv, as_json, table_context
from apps.exposure.services import exposure_request, legacy_dirs
from apps.web.access import acting_user, role_required
from apps.web.auditors.exposure.forms import ExposureForm

RECENT_RUNS = 20


@role_required(RoleCode.AUDITOR)
@require_http_methods(["GET", "HEAD", "POST"])
def exposure_home(request: HttpRequest) -> HttpResponse:
    keys = sorted(legacy_dirs())
    form = ExposureForm(request.POST or None, legacy_keys=keys)
    if request.method == "POST" and form.is_valid():
        try:
            run = exposure_request(
                acting_user=acting_user(request),
                period_from=form.cleaned_data["period_from"],
                period_to=form.cleaned_data["period_to"],
                source=form.cleaned_data["source"],
            )
        except ValidationError as refused:
            for field, messages in refused.message_dict.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            return redirect("exposure-run", run_id=run.pk)
    runs = ExposureRun.objects.select_related("requested_by")[:RECENT_RUNS]
    status = 400 if form.is_bound else 200
    return render(request, "exposure/home.html", {"form": form, "runs": runs}, status=status)


def _run(run_id: int) -> ExposureRun:
    return get_object_or_404(ExposureRun, pk=run_id)


@role_required(RoleCode.AUDITOR)
@require_safe
def exposure_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(run_id)
    context = {"run": run, "done": run.status == RunStatus.DONE}
    if run.status == RunStatus.DONE and run.result is not None:
        context.update(table_context(run.result, source=run.source))
    return render(request, "exposure/run.html", context)


@role_required(RoleCode.AUDITOR)
@require_safe
def exposure_run_status(request: HttpRequest, run_id: int) -> JsonResponse:
    run = _run(run_id)
    return JsonResponse(
        {"status": run.status, "events_read": run.events_read, "finished": run.finished}
    )


def _download(request: HttpRequest, run_id: int, fmt: str) -> HttpResponse:
    run = _run(run_id)
    if run.status != RunStatus.DONE or run.result is None:
        raise Http404
    with transaction.atomic():
        audit_record(
            actor=acting_user(request),
            action=AuditAction.EXPORT,
            details={"export": f"exposure_report_{fmt}", "run": run.pk},
        )
    body, content_type = (
        (as_csv(run.result), "text/csv; charset=utf-8")
        if fmt == "csv"
        else (as_json(run.result), "application/json; charset=utf-8")
    )
    response = HttpResponse(body, content_type=content_type)
    name = f"exposure-{run.period_from:%Y%m%d}-{run.period_to:%Y%m%d}-{run.pk}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(RoleCode.AUDITOR)
@require_safe
def exposure_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    return _download(request, run_id, "csv")


@role_required(RoleCode.AUDITOR)
@require_safe
def exposure_json(request: HttpRequest, run_id: int) -> HttpResponse:
    return _download(request, run_id, "json")
