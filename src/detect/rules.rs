//! The rules file (`config/rules.toml`): which combinations of signals make a finding, under
//! which SKB category and severity, with what score and reason, and examples that must or must
//! not fire (run by the test suite, so a rule edit that breaks its own examples fails CI).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::lexicon::{EntityKind, Lexicon, Stage};
use super::signals::{
    analyse_if_named_with, analyse_with, evidence, Analysis, EntityEvidence, Evidence, Scratch,
    Signal,
};
use super::Scope;
use crate::model::{
    Activity, ActivityKind, Category, Detection, RuleStatus, Severity, Span, SpanField,
};

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rules file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rules file {path} is not valid")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("rule '{rule}': {reason}")]
    Invalid { rule: String, reason: String },
}

/// Which text a rule judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judge {
    /// The actor's own words (posts, replies, quote comments).
    Own,
    /// The acted-on text, as if the actor had written it (reposts, likes, quotes).
    Target,
    /// The actor's words applied to the entities of the quoted or replied-to text.
    OwnOnTarget,
    /// Only the target's author: a watched or candidate-named account.
    Account,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetCondition {
    Any,
    /// The target's author is on the official list (or the caller's watched set).
    Watched,
    /// The target's author is named after a candidate or party but not on the list.
    Named,
    /// The target's author is neither.
    Other,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    category: String,
    severity: String,
    status: String,
    kinds: Vec<String>,
    judge: Judge,
    #[serde(default = "any_target")]
    target: TargetCondition,
    #[serde(default)]
    all: Vec<String>,
    #[serde(default)]
    any: Vec<String>,
    #[serde(default)]
    none: Vec<String>,
    #[serde(default)]
    entity_kinds: Vec<String>,
    #[serde(default)]
    stages: Vec<String>,
    #[serde(default)]
    max_rivals: Option<usize>,
    #[serde(default = "yes")]
    neutral_suppresses: bool,
    score: f32,
    reason: String,
    #[serde(default)]
    examples: Vec<Example>,
}

fn any_target() -> TargetCondition {
    TargetCondition::Any
}

fn yes() -> bool {
    true
}

/// A text that must (or must not) make its rule fire.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    #[serde(default = "post")]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub target_author: Option<String>,
    #[serde(default)]
    pub target_text: Option<String>,
    pub fires: bool,
}

fn post() -> String {
    "post".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scoring {
    neutral_penalty: f32,
    max_neutral_penalty: f32,
    bonus: f32,
    max_bonus: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    scoring: Scoring,
    #[serde(rename = "rule")]
    rules: Vec<RawRule>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub category: Category,
    pub severity: Severity,
    pub status: RuleStatus,
    kinds: Vec<ActivityKind>,
    judge: Judge,
    target: TargetCondition,
    all: Vec<Signal>,
    any: Vec<Signal>,
    none: Vec<Signal>,
    entity_kinds: Vec<EntityKind>,
    stages: Vec<Stage>,
    max_rivals: Option<usize>,
    neutral_suppresses: bool,
    score: f32,
    reason: String,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone)]
pub struct Rules {
    pub rules: Vec<Rule>,
    scoring: Scoring,
}

fn signals(rule: &str, names: &[String]) -> Result<Vec<Signal>, RulesError> {
    names
        .iter()
        .map(|n| {
            Signal::parse(n).ok_or_else(|| RulesError::Invalid {
                rule: rule.to_string(),
                reason: format!(
                    "unknown signal '{n}' (expected one of: {})",
                    Signal::ALL
                        .iter()
                        .map(|(s, _)| *s)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        })
        .collect()
}

impl Rules {
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Rules::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Rules, RulesError> {
        let raw: RawRules = toml::from_str(text).map_err(|source| RulesError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        let mut rules = Vec::new();
        let mut ids = BTreeSet::new();
        for r in raw.rules {
            let invalid = |reason: String| RulesError::Invalid {
                rule: r.id.clone(),
                reason,
            };
            if !ids.insert(r.id.clone()) {
                return Err(invalid("the id is used twice".into()));
            }
            let category = r
                .category
                .parse::<Category>()
                .map_err(|e| invalid(e.to_string()))?;
            let severity = r
                .severity
                .parse::<Severity>()
                .map_err(|e| invalid(e.to_string()))?;
            let status = match r.status.as_str() {
                "active" => RuleStatus::Active,
                "shadow" => RuleStatus::Shadow,
                other => {
                    return Err(invalid(format!(
                        "unknown status '{other}' (active, shadow)"
                    )))
                }
            };
            let kinds = r
                .kinds
                .iter()
                .map(|k| {
                    k.parse::<ActivityKind>()
                        .map_err(|e| invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let entity_kinds = r
                .entity_kinds
                .iter()
                .map(|k| match k.as_str() {
                    "pair" => Ok(EntityKind::Pair),
                    "party" => Ok(EntityKind::Party),
                    "candidate" => Ok(EntityKind::Candidate),
                    other => Err(invalid(format!("unknown entity kind '{other}'"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let stages = if r.stages.is_empty() {
                vec![
                    Stage::Before,
                    Stage::CandidatesSet,
                    Stage::NumbersDrawn,
                    Stage::Campaign,
                    Stage::Quiet,
                    Stage::VoteDay,
                ]
            } else {
                r.stages
                    .iter()
                    .map(|s| Stage::parse(s).ok_or_else(|| invalid(format!("unknown stage '{s}'"))))
                    .collect::<Result<Vec<_>, _>>()?
            };
            if !(0.0..=1.0).contains(&r.score) {
                return Err(invalid(format!("score {} is outside 0.0-1.0", r.score)));
            }
            if r.reason.trim().is_empty() {
                return Err(invalid("the reason is empty".into()));
            }
            rules.push(Rule {
                all: signals(&r.id, &r.all)?,
                any: signals(&r.id, &r.any)?,
                none: signals(&r.id, &r.none)?,
                id: r.id,
                category,
                severity,
                status,
                kinds,
                judge: r.judge,
                target: r.target,
                entity_kinds,
                stages,
                max_rivals: r.max_rivals,
                neutral_suppresses: r.neutral_suppresses,
                score: r.score,
                reason: r.reason,
                examples: r.examples,
            });
        }
        Ok(Rules {
            rules,
            scoring: raw.scoring,
        })
    }

    /// Evaluates every rule against one activity.
    pub fn evaluate(&self, activity: &Activity, lex: &Lexicon, scope: &Scope) -> Vec<Detection> {
        self.evaluate_with(activity, lex, scope, &mut Scratch::default())
    }

    /// [`Rules::evaluate`], reusing `scratch`.
    pub fn evaluate_with(
        &self,
        activity: &Activity,
        lex: &Lexicon,
        scope: &Scope,
        scratch: &mut Scratch,
    ) -> Vec<Detection> {
        let Some(ctx) = Context::new(activity, lex, scope, scratch) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for rule in &self.rules {
            if !rule.kinds.contains(&activity.kind) {
                continue;
            }
            if let Some(d) = self.apply(rule, &ctx, lex, scope) {
                out.push(d);
            }
        }
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.rule_id.cmp(&b.rule_id))
        });
        for (analysis, _) in ctx.own.into_iter().chain(ctx.target) {
            scratch.recycle_analysis(analysis);
        }
        out
    }

    fn apply(&self, rule: &Rule, ctx: &Context, lex: &Lexicon, scope: &Scope) -> Option<Detection> {
        let target_ok = match rule.target {
            TargetCondition::Any => true,
            TargetCondition::Watched => ctx.watched.is_some(),
            TargetCondition::Named => ctx.watched.is_none() && ctx.named.is_some(),
            TargetCondition::Other => ctx.watched.is_none() && ctx.named.is_none(),
        };
        if !target_ok {
            return None;
        }
        if rule.judge == Judge::Account {
            let e = ctx.watched.or(ctx.named)?;
            let stage = scope.stage_of(lex.entities[e].election)?;
            if !rule.stages.contains(&stage) {
                return None;
            }
            let author = ctx.target_author.as_deref().unwrap_or("");
            let mut spans = vec![Span {
                field: SpanField::TargetAuthor,
                start: 0,
                end: author.len(),
                text: author.to_string(),
            }];
            // the actor's own words still carry neutral context (a reply that declines)
            let neutral = ctx
                .own
                .as_ref()
                .map(|(_, ev)| ev.neutral.len())
                .unwrap_or(0);
            if let Some((a, ev)) = &ctx.own {
                if let Some(rec) = ev.entities.get(&e) {
                    spans.extend(to_spans(a, &rec.spans, SpanField::Text, ctx.own_text));
                }
            }
            let score = self.penalised(rule.score, 0, neutral, rule.neutral_suppresses);
            return Some(self.detection(rule, lex, vec![e], spans, score));
        }
        let (judged, field, text, neutral_extra): (&(Analysis, Evidence), SpanField, &str, usize) =
            match rule.judge {
                Judge::Own => (ctx.own.as_ref()?, SpanField::Text, ctx.own_text, 0),
                Judge::Target | Judge::OwnOnTarget => (
                    ctx.target.as_ref()?,
                    SpanField::TargetText,
                    ctx.target_text,
                    ctx.own
                        .as_ref()
                        .map(|(_, ev)| ev.neutral.len())
                        .unwrap_or(0),
                ),
                Judge::Account => return None,
            };
        let (analysis, ev) = judged;
        let mut best: Option<(f32, Vec<usize>, Vec<Span>)> = None;
        for (&e, rec) in &ev.entities {
            let entity = &lex.entities[e];
            if !rule.entity_kinds.is_empty() && !rule.entity_kinds.contains(&entity.kind) {
                continue;
            }
            let Some(stage) = scope.stage_of(entity.election) else {
                continue;
            };
            if !rule.stages.contains(&stage) {
                continue;
            }
            let merged;
            let rec: &EntityEvidence = if rule.judge == Judge::OwnOnTarget {
                let (_, own_ev) = ctx.own.as_ref()?;
                if own_ev.loose.is_empty() {
                    continue;
                }
                let mut m = rec.clone();
                m.signals.extend(own_ev.loose.iter().copied());
                merged = m;
                &merged
            } else {
                rec
            };
            if rule.max_rivals.is_some_and(|max| rec.rivals > max) {
                continue;
            }
            if !rule.all.iter().all(|s| rec.signals.contains(s))
                || (!rule.any.is_empty() && !rule.any.iter().any(|s| rec.signals.contains(s)))
                || rule.none.iter().any(|s| rec.signals.contains(s))
            {
                continue;
            }
            let extra = rec
                .signals
                .iter()
                .filter(|s| !rule.all.contains(s) && !rule.none.contains(s))
                .count()
                .saturating_sub(1);
            // a quote's stance is in the person's words; the quoted news may well be neutral
            let neutral = if rule.judge == Judge::OwnOnTarget {
                neutral_extra
            } else {
                ev.neutral.len() + neutral_extra
            };
            let score = self.penalised(rule.score, extra, neutral, rule.neutral_suppresses);
            let mut spans = to_spans(analysis, &rec.spans, field, text);
            if rule.judge == Judge::OwnOnTarget {
                if let Some((own_a, own_ev)) = &ctx.own {
                    spans.extend(to_spans(
                        own_a,
                        &own_ev.loose_spans,
                        SpanField::Text,
                        ctx.own_text,
                    ));
                }
            }
            match &mut best {
                Some((s, ents, sp)) => {
                    *s = s.max(score);
                    ents.push(e);
                    sp.extend(spans);
                }
                None => best = Some((score, vec![e], spans)),
            }
        }
        let (score, entities, spans) = best?;
        Some(self.detection(rule, lex, entities, spans, score))
    }

    fn penalised(&self, base: f32, extra: usize, neutral: usize, suppress: bool) -> f32 {
        let bonus = (extra as f32 * self.scoring.bonus).min(self.scoring.max_bonus);
        let penalty = if suppress {
            (neutral as f32 * self.scoring.neutral_penalty).min(self.scoring.max_neutral_penalty)
        } else {
            0.0
        };
        ((base + bonus - penalty).clamp(0.0, 1.0) * 100.0).round() / 100.0
    }

    fn detection(
        &self,
        rule: &Rule,
        lex: &Lexicon,
        entities: Vec<usize>,
        mut spans: Vec<Span>,
        score: f32,
    ) -> Detection {
        // longest first at each start, so that a span inside another (the `2` that a number
        // pattern read inside the ballot number `02`) comes after the one holding it and is
        // dropped: the reviewer sees each stretch of text once
        spans.sort_by(|a, b| {
            (field_order(a.field), a.start, std::cmp::Reverse(a.end)).cmp(&(
                field_order(b.field),
                b.start,
                std::cmp::Reverse(b.end),
            ))
        });
        let mut reach: Option<(SpanField, usize)> = None;
        spans.retain(|s| {
            let inside = reach.is_some_and(|(field, end)| field == s.field && s.end <= end);
            if !inside {
                reach = Some((s.field, s.end));
            }
            !inside
        });
        let labels: Vec<&str> = entities
            .iter()
            .map(|&e| lex.entities[e].label.as_str())
            .collect();
        let reason = rule.reason.replace("{entity}", &labels.join(", "));
        Detection {
            rule_id: rule.id.clone(),
            category: rule.category,
            severity: rule.severity,
            status: rule.status,
            score,
            entities: entities
                .iter()
                .map(|&e| lex.entities[e].id.clone())
                .collect(),
            spans,
            reason,
        }
    }
}

fn field_order(f: SpanField) -> u8 {
    match f {
        SpanField::Text => 0,
        SpanField::TargetText => 1,
        SpanField::TargetAuthor => 2,
    }
}

fn to_spans(a: &Analysis, spans: &[(u32, u32)], field: SpanField, text: &str) -> Vec<Span> {
    spans
        .iter()
        .filter_map(|&(s, e)| {
            let (start, end) = a.norm.original_span(s as usize, e as usize);
            let t = text.get(start..end)?;
            (start < end).then(|| Span {
                field,
                start,
                end,
                text: t.to_string(),
            })
        })
        .collect()
}

/// The analysed texts of one activity.
struct Context<'a> {
    own_text: &'a str,
    target_text: &'a str,
    target_author: Option<String>,
    own: Option<(Analysis, Evidence)>,
    target: Option<(Analysis, Evidence)>,
    watched: Option<usize>,
    named: Option<usize>,
}

impl<'a> Context<'a> {
    /// `None` when no rule can fire: no target (so no account or target rule applies) and no
    /// entity named or numbered in the text, which is what most posts are. Rules judge entity
    /// evidence, and evidence only ever starts from a mention or a ballot number or hand sign.
    fn new(
        activity: &'a Activity,
        lex: &Lexicon,
        scope: &Scope,
        scratch: &mut Scratch,
    ) -> Option<Context<'a>> {
        let own_text = !activity.text.trim().is_empty();
        let own_a = if activity.target.is_none() {
            // then only an entity named in the text can make a finding
            if !own_text {
                return None;
            }
            Some(analyse_if_named_with(&activity.text, lex, scratch)?)
        } else {
            own_text.then(|| analyse_with(&activity.text, lex, scratch))
        };
        let target_a = activity
            .target
            .as_ref()
            .filter(|t| !t.text.trim().is_empty())
            .map(|t| analyse_with(&t.text, lex, scratch));
        let own = own_a.map(|a| {
            let ev = evidence(&a, target_a.as_ref(), lex, scope);
            (a, ev)
        });
        let target = target_a.map(|a| {
            let ev = evidence(&a, own.as_ref().map(|(oa, _)| oa), lex, scope);
            (a, ev)
        });
        let author = activity
            .target
            .as_ref()
            .map(|t| t.author.clone())
            .filter(|a| !a.trim().is_empty());
        let watched = author
            .as_deref()
            .and_then(|h| scope.extra_watched(h).or_else(|| lex.official_account(h)));
        let named = author.as_deref().and_then(|h| lex.named_account(h));
        Some(Context {
            own_text: &activity.text,
            target_text: activity.target.as_ref().map_or("", |t| t.text.as_str()),
            target_author: author,
            own,
            target,
            watched,
            named,
        })
    }
}

/// A rule example whose outcome differs from what it says.
#[derive(Debug, Clone)]
pub struct ExampleFailure {
    pub rule: String,
    pub example: Example,
    pub fired: Vec<String>,
}

/// Runs every rule's examples (in the campaign-everywhere scope) and returns those that do not
/// behave as written: `fires = true` needs a finding of that rule at or above `threshold`,
/// `fires = false` needs none.
pub fn check_examples(rules: &Rules, lex: &Lexicon, threshold: f32) -> Vec<ExampleFailure> {
    let scope = Scope::campaign_everywhere(lex);
    let mut failures = Vec::new();
    for rule in &rules.rules {
        for ex in &rule.examples {
            let Ok(kind) = ex.kind.parse::<ActivityKind>() else {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    example: ex.clone(),
                    fired: vec![format!("unknown kind {}", ex.kind)],
                });
                continue;
            };
            let activity = super::eval::activity(
                crate::model::Platform::X,
                "example",
                kind,
                &ex.text,
                ex.target_author.as_deref(),
                ex.target_text.as_deref(),
            );
            let found = rules.evaluate(&activity, lex, &scope);
            let fired = found
                .iter()
                .any(|d| d.rule_id == rule.id && d.score >= threshold);
            if fired != ex.fires {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    example: ex.clone(),
                    fired: found
                        .iter()
                        .map(|d| format!("{} {:.2}", d.rule_id, d.score))
                        .collect(),
                });
            }
        }
    }
    failures
}
