//! The registrars' and admins' API: employees and their accounts (with scan state and CSV
//! upload), watched candidate/party accounts, users and tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Subject;
use super::body::{ApiJson, CsvText};
use super::error::ApiError;
use super::AppState;
use crate::access::{self, Action, Resource, Role, Scope, TokenId, User, UserId};
use crate::model::{Account, Employee};
use crate::registry::{self, ImportMode, ImportReport};
use crate::store::{AuditDraft, NewUser, UserChange};

fn parse_id(what: &str, raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .map_err(|_| ApiError::bad_request(format!("'{raw}' is not a {what} number")))
}

/// `GET /api/v1/me`: who the token belongs to.
pub async fn me(subject: Subject) -> Json<Value> {
    Json(user_json(&subject.user))
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.0,
        "name": user.name,
        "role": user.role,
        "unit": user.scope.to_string(),
        "senior": user.senior,
        "active": user.active,
        "created_at": user.created_at.to_string(),
    })
}

fn employee_json(state: &AppState, role: Role, employee: &Employee) -> Value {
    let (id, name) = match role {
        Role::Auditor => (
            access::pseudonym(&state.pseudonym_key, &employee.employee_id),
            access::mask_name(&employee.name),
        ),
        _ => (employee.employee_id.clone(), employee.name.clone()),
    };
    json!({
        "employee_id": id,
        "name": name,
        "unit": employee.unit.as_str(),
        "position": employee.position,
        "status": employee.status,
        "active": employee.active,
    })
}

fn account_json(state: &AppState, role: Role, account: &Account) -> Result<Value, ApiError> {
    let scan = state.store.scan_state(account.id)?;
    let employee_id = match role {
        Role::Auditor => access::pseudonym(&state.pseudonym_key, &account.employee_id),
        _ => account.employee_id.clone(),
    };
    Ok(json!({
        "id": account.id.0,
        "employee_id": employee_id,
        "platform": account.platform,
        "handle": account.handle,
        "platform_id": account.platform_id,
        "state": account.state,
        "active": account.active,
        "previous_handles": account.previous_handles,
        "next_due_at": scan.as_ref().map(|s| s.next_due_at.to_string()),
    }))
}

/// `GET /api/v1/employees`: the employees in the subject's units.
pub async fn list_employees(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ReadRegistry)?;
    let items: Vec<Value> = state
        .store
        .employees()?
        .iter()
        .filter(|e| subject.user.scope.covers(Some(&e.unit)))
        .map(|e| employee_json(&state, subject.user.role, e))
        .collect();
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

fn visible_employee(
    state: &AppState,
    subject: &Subject,
    action: Action,
    employee_id: &str,
) -> Result<Employee, ApiError> {
    let employee = state
        .store
        .employee(employee_id)
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::not_found("employee", employee_id))?;
    subject.require_on(
        state,
        action,
        Resource {
            unit: Some(&employee.unit),
            employee_id: None,
        },
        "employee",
        employee_id,
    )?;
    Ok(employee)
}

/// `GET /api/v1/employees/{id}`: one employee with their accounts and scan states.
pub async fn get_employee(
    State(state): State<AppState>,
    subject: Subject,
    Path(employee_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let employee = visible_employee(&state, &subject, Action::ReadRegistry, &employee_id)?;
    let mut body = employee_json(&state, subject.user.role, &employee);
    let mut accounts = Vec::new();
    for account in state.store.accounts()? {
        if account.employee_id == employee.employee_id {
            accounts.push(account_json(&state, subject.user.role, &account)?);
        }
    }
    body["accounts"] = json!(accounts);
    Ok(Json(body))
}

async fn set_active(
    state: AppState,
    subject: Subject,
    employee_id: String,
    active: bool,
) -> Result<Json<Value>, ApiError> {
    visible_employee(&state, &subject, Action::WriteRegistry, &employee_id)?;
    let employee = state.store.set_employee_active(
        &employee_id,
        active,
        &subject.user.actor(),
        Timestamp::now(),
    )?;
    Ok(Json(employee_json(&state, subject.user.role, &employee)))
}

/// `POST /api/v1/employees/{id}/deactivate`: scanning stops, history stays.
pub async fn deactivate_employee(
    State(state): State<AppState>,
    subject: Subject,
    Path(employee_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_active(state, subject, employee_id, false).await
}

/// `POST /api/v1/employees/{id}/activate`
pub async fn activate_employee(
    State(state): State<AppState>,
    subject: Subject,
    Path(employee_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_active(state, subject, employee_id, true).await
}

/// `GET /api/v1/accounts`: registered accounts in the subject's units, with scan state.
pub async fn list_accounts(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ReadRegistry)?;
    let units: std::collections::HashMap<String, crate::model::UnitPath> = state
        .store
        .employees()?
        .into_iter()
        .map(|e| (e.employee_id, e.unit))
        .collect();
    let mut items = Vec::new();
    for account in state.store.accounts()? {
        if subject.user.scope.covers(units.get(&account.employee_id)) {
            items.push(account_json(&state, subject.user.role, &account)?);
        }
    }
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

fn import_answer(report: &ImportReport) -> Result<Json<Value>, ApiError> {
    if !report.errors.is_empty() {
        let mut error = ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_csv",
            format!(
                "{} of {} rows are invalid; nothing was imported",
                report.errors.len(),
                report.rows
            ),
        );
        error.rows = report.errors.iter().map(ToString::to_string).collect();
        return Err(error);
    }
    Ok(Json(json!({
        "rows": report.rows,
        "employees_added": report.employees_added,
        "employees_updated": report.employees_updated,
        "accounts_added": report.accounts_added,
        "unchanged": report.unchanged,
    })))
}

fn registry_error(error: registry::RegistryError) -> ApiError {
    match error {
        registry::RegistryError::Store(error) => error.into(),
        other => ApiError::new(StatusCode::BAD_REQUEST, "bad_csv", other.to_string()),
    }
}

/// `POST /api/v1/accounts/import` (`text/csv`): all rows or none; every bad row is reported.
/// Rows outside the registrar's units are bad rows.
pub async fn import_accounts(
    State(state): State<AppState>,
    subject: Subject,
    CsvText(text): CsvText,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::WriteRegistry)?;
    let scope = subject.user.scope.clone();
    let now = Timestamp::now();
    let report = registry::import_accounts_with(
        &state.store,
        &text,
        now,
        ImportMode::AllOrNothing {
            unit_allowed: &|unit| scope.covers(Some(unit)),
        },
    )
    .map_err(registry_error)?;
    if report.errors.is_empty() {
        state.store.audit(
            AuditDraft::new(subject.user.actor(), "registry.import", "accounts").detail(format!(
                "{} baris: {} pegawai baru, {} diperbarui, {} akun baru",
                report.rows,
                report.employees_added,
                report.employees_updated,
                report.accounts_added
            )),
            now,
        )?;
    }
    import_answer(&report)
}

/// `GET /api/v1/watched`
pub async fn list_watched(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ReadWatched)?;
    Ok(Json(
        json!({"items": state.store.watched_accounts()?, "next_cursor": null}),
    ))
}

/// `POST /api/v1/watched/import` (`text/csv`, admins): all rows or none.
pub async fn import_watched(
    State(state): State<AppState>,
    subject: Subject,
    CsvText(text): CsvText,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::WriteWatched)?;
    let judge = state.judge.clone().ok_or_else(ApiError::internal)?;
    let now = Timestamp::now();
    let report = registry::import_watched_with(
        &state.store,
        &text,
        &|entity| judge.knows_entity(entity),
        now,
        ImportMode::AllOrNothing {
            unit_allowed: &|_| true,
        },
    )
    .map_err(registry_error)?;
    if report.errors.is_empty() {
        state.store.audit(
            AuditDraft::new(subject.user.actor(), "registry.import", "watched")
                .detail(format!("{} baris", report.rows)),
            now,
        )?;
    }
    import_answer(&report)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub name: String,
    pub role: String,
    pub unit: String,
    #[serde(default)]
    pub senior: bool,
    #[serde(default)]
    pub employee_id: Option<String>,
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    raw.parse::<Role>()
        .map_err(|e| ApiError::bad_request(format!("role: {e}")))
}

fn parse_scope(raw: &str) -> Result<Scope, ApiError> {
    Scope::parse(raw).map_err(|e| ApiError::bad_request(format!("unit: {e}")))
}

/// An admin manages only users inside its own scope.
fn require_scope(subject: &Subject, scope: &Scope) -> Result<(), ApiError> {
    if subject.user.scope.contains_scope(scope) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "unit '{scope}' is outside your units ('{}')",
            subject.user.scope
        )))
    }
}

/// `GET /api/v1/users`
pub async fn list_users(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ManageUsers)?;
    let items: Vec<Value> = state
        .store
        .users()?
        .iter()
        .filter(|u| subject.user.scope.contains_scope(&u.scope))
        .map(user_json)
        .collect();
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// `POST /api/v1/users`
pub async fn add_user(
    State(state): State<AppState>,
    subject: Subject,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    subject.require(&state, Action::ManageUsers)?;
    let scope = parse_scope(&body.unit)?;
    require_scope(&subject, &scope)?;
    let user = state.store.add_user(
        NewUser {
            name: body.name,
            role: parse_role(&body.role)?,
            scope,
            senior: body.senior,
            employee_id: body.employee_id,
        },
        &subject.user.actor(),
        Timestamp::now(),
    )?;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub senior: Option<bool>,
    #[serde(default)]
    pub active: Option<bool>,
}

fn managed_user(state: &AppState, subject: &Subject, raw_id: &str) -> Result<User, ApiError> {
    let id = UserId(parse_id("user", raw_id)?);
    let user = state
        .store
        .user(id)?
        .filter(|u| subject.user.scope.contains_scope(&u.scope))
        .ok_or_else(|| ApiError::not_found("user", id))?;
    Ok(user)
}

/// `PATCH /api/v1/users/{id}`: role, unit, seniority, active; effective on the next request.
pub async fn change_user(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
    ApiJson(body): ApiJson<UserPatchBody>,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ManageUsers)?;
    let user = managed_user(&state, &subject, &raw_id)?;
    let scope = body.unit.as_deref().map(parse_scope).transpose()?;
    if let Some(scope) = &scope {
        require_scope(&subject, scope)?;
    }
    let change = UserChange {
        role: body.role.as_deref().map(parse_role).transpose()?,
        scope,
        senior: body.senior,
        active: body.active,
    };
    let changed =
        state
            .store
            .change_user(user.id, &change, &subject.user.actor(), Timestamp::now())?;
    Ok(Json(user_json(&changed)))
}

/// `POST /api/v1/users/{id}/tokens`: a new token, shown in this answer only.
pub async fn create_token(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    subject.require(&state, Action::ManageUsers)?;
    let user = managed_user(&state, &subject, &raw_id)?;
    let secret = access::new_token_secret().map_err(|error| {
        tracing::error!(error = %error, "No randomness for a token.");
        ApiError::internal()
    })?;
    let token = state.store.add_token(
        user.id,
        &access::token_digest(&secret),
        &subject.user.actor(),
        Timestamp::now(),
    )?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": token.id.0, "user_id": user.id.0, "token": secret})),
    ))
}

/// `GET /api/v1/tokens`: tokens of the users an admin manages (never the secrets).
pub async fn list_tokens(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ManageUsers)?;
    let mut items = Vec::new();
    for token in state.store.tokens()? {
        let Some(user) = state.store.user(token.user_id)? else {
            continue;
        };
        if subject.user.scope.contains_scope(&user.scope) {
            items.push(json!({
                "id": token.id.0,
                "user_id": token.user_id.0,
                "user": user.name,
                "created_at": token.created_at.to_string(),
                "revoked_at": token.revoked_at.map(|t| t.to_string()),
            }));
        }
    }
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// `POST /api/v1/tokens/{id}/revoke`: refused from the next request on.
pub async fn revoke_token(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ManageUsers)?;
    let id = TokenId(parse_id("token", &raw_id)?);
    let token = state
        .store
        .token(id)?
        .ok_or_else(|| ApiError::not_found("token", id))?;
    managed_user(&state, &subject, &token.user_id.to_string())
        .map_err(|_| ApiError::not_found("token", id))?;
    let revoked = state
        .store
        .revoke_token(id, &subject.user.actor(), Timestamp::now())?;
    Ok(Json(json!({
        "id": revoked.id.0,
        "revoked_at": revoked.revoked_at.map(|t| t.to_string()),
    })))
}
