//! The commands each service answers (edge → service, request/reply), one
//! enum per service. Declaring a command here gives it its wire name, its
//! reply type and its queue; the service decodes its enum once from the
//! envelope and handles it in one exhaustive match, so a command added here
//! and not handled does not compile.

use crate::{DecodeError, Envelope, Page};

/// A command a service was sent: a query (read-only, answered without a
/// transaction) or a change (done once, in a transaction with the inbox
/// record).
#[derive(Debug)]
pub enum Asked<Q, C> {
    Query(Q),
    Change(C),
}

/// One service's commands (declared with `commands!` below).
pub trait Commands {
    type Query: Send + 'static;
    type Change: Send + 'static;
    /// The type name of every command.
    const TYPES: &'static [&'static str];

    /// The command `env` carries, decoded once by its type name; a type
    /// this service does not answer is an error.
    fn decode(env: &Envelope) -> Result<Asked<Self::Query, Self::Change>, DecodeError>;
}
use crate::escalation::{
    CalendarV1, DefineCalendarV1, DefineSlaV1, DeleteCalendarV1, DeleteSlaV1, ESCALATION_QUEUE,
    GetSlaComplianceV1, GetSlaRulesV1, GetTicketSlaV1, ListCalendarsV1, ListSlaBreachesV1,
    ListSlasV1, SetSlaRulesV1, SlaBreachV1, SlaComplianceV1, SlaRulesV1, SlaV1, TicketSlaV1,
};
use crate::incident::{
    ActionV1, AnswerSurveyV1, AuditEntryV1, GetIncidentSurveyV1, GetIncidentV1,
    GetPriorityMatrixV1, GetSurveyV1, IncidentV1, ListIncidentsV1, LogIncidentV1, PriorityMatrixV1,
    SetPriorityMatrixV1, SurveyV1, TICKETING_QUEUE,
};
use crate::knowledge::{
    ArticleSummaryV1, ArticleV1, ExportTicketV1, ExportV1, GetArticleV1, GetKbTemplateV1,
    KbTemplateV1, ListArticlesV1, PublishArticleV1, SetKbTemplateV1, WithdrawArticleV1,
};
use crate::notification::{
    DeleteTemplateV1, DeliveryV1, EmailReceivedV1, EmailTemplateV1, GetNotificationSettingsV1,
    ListDeliveriesV1, ListTemplatesV1, NOTIFICATION_QUEUE, NotificationSettingsV1,
    PatchNotificationSettingsV1, PreviewEmailV1, PutTemplateV1, ReceiveEmailV1, RenderedEmailV1,
    SetNotificationSettingsV1,
};
use crate::report::{GetIncidentReportV1, GetProblemReportV1, IncidentReportV1, ProblemReportV1};
use crate::supplier::{
    ListSuppliersV1, RegisterSupplierV1, RotateSupplierTokenV1, SupplierRegisteredV1, SupplierV1,
};
use crate::ticket::{
    AddActionV1, ApplyWorkaroundV1, AssignTicketV1, ChangeCalendarV1, ChangeTicketStatusV1,
    CompleteRequestStepV1, DecideChangeV1, DefineRequestTypeV1, DeleteRequestTypeV1,
    FieldDefinitionsV1, GetChangeCalendarV1, GetFieldDefinitionsV1, GetHistoryV1, GetTicketV1,
    LinkIncidentsV1, LinkTicketsV1, LinkV1, ListActionsV1, ListLinksV1, ListRequestTypesV1,
    ListTicketsV1, LogTicketV1, ReplanChangeV1, RequestTypeV1, SetFieldDefinitionsV1, TicketV1,
    UnlinkIncidentV1, UnlinkTicketsV1, UpdateTicketV1, WorkaroundAppliedV1,
};

commands! {
    /// What ticketing answers: tickets of every kind, their actions, links
    /// and extended data, the knowledge base, suppliers, surveys, reports.
    pub enum TicketingCommand on TICKETING_QUEUE;
    queries TicketingQuery {
        // Deprecated: GetTicketV1 and ListTicketsV1 with kind `incident`.
        GetIncidentV1 -> IncidentV1,
        ListIncidentsV1 -> Page<IncidentV1>,
        GetPriorityMatrixV1 -> PriorityMatrixV1,
        GetTicketV1 -> TicketV1,
        ListTicketsV1 -> Page<TicketV1>,
        ListActionsV1 -> Vec<ActionV1>,
        GetHistoryV1 -> Vec<AuditEntryV1>,
        ListLinksV1 -> Vec<LinkV1>,
        GetChangeCalendarV1 -> ChangeCalendarV1,
        GetFieldDefinitionsV1 -> FieldDefinitionsV1,
        ListRequestTypesV1 -> Vec<RequestTypeV1>,
        GetKbTemplateV1 -> KbTemplateV1,
        ExportTicketV1 -> ExportV1,
        ListArticlesV1 -> Page<ArticleSummaryV1>,
        GetArticleV1 -> ArticleV1,
        ListSuppliersV1 -> Vec<SupplierV1>,
        GetSurveyV1 -> SurveyV1,
        GetIncidentSurveyV1 -> SurveyV1,
        GetProblemReportV1 -> ProblemReportV1,
        GetIncidentReportV1 -> IncidentReportV1,
    }
    changes TicketingChange {
        // Deprecated: LogTicketV1 with kind `incident`.
        LogIncidentV1 -> IncidentV1,
        SetPriorityMatrixV1 -> PriorityMatrixV1,
        LogTicketV1 -> TicketV1,
        UpdateTicketV1 -> TicketV1,
        AssignTicketV1 -> TicketV1,
        ChangeTicketStatusV1 -> TicketV1,
        AddActionV1 -> ActionV1,
        LinkTicketsV1 -> LinkV1,
        UnlinkTicketsV1 -> Vec<LinkV1>,
        LinkIncidentsV1 -> TicketV1,
        UnlinkIncidentV1 -> TicketV1,
        ApplyWorkaroundV1 -> WorkaroundAppliedV1,
        DecideChangeV1 -> TicketV1,
        ReplanChangeV1 -> TicketV1,
        CompleteRequestStepV1 -> TicketV1,
        SetFieldDefinitionsV1 -> FieldDefinitionsV1,
        DefineRequestTypeV1 -> RequestTypeV1,
        DeleteRequestTypeV1 -> RequestTypeV1,
        SetKbTemplateV1 -> KbTemplateV1,
        PublishArticleV1 -> ArticleV1,
        WithdrawArticleV1 -> ArticleV1,
        AnswerSurveyV1 -> SurveyV1,
        RegisterSupplierV1 -> SupplierRegisteredV1,
        RotateSupplierTokenV1 -> SupplierRegisteredV1,
    }
}

commands! {
    /// What escalation answers: calendars, SLAs and their rules, a
    /// ticket's SLA, and the SLA reports.
    pub enum EscalationCommand on ESCALATION_QUEUE;
    queries EscalationQuery {
        ListCalendarsV1 -> Vec<CalendarV1>,
        ListSlasV1 -> Vec<SlaV1>,
        GetSlaRulesV1 -> SlaRulesV1,
        GetTicketSlaV1 -> TicketSlaV1,
        GetSlaComplianceV1 -> SlaComplianceV1,
        ListSlaBreachesV1 -> Vec<SlaBreachV1>,
    }
    changes EscalationChange {
        DefineCalendarV1 -> CalendarV1,
        DefineSlaV1 -> SlaV1,
        SetSlaRulesV1 -> SlaRulesV1,
        DeleteCalendarV1 -> CalendarV1,
        DeleteSlaV1 -> SlaV1,
    }
}

commands! {
    /// What notification answers: email settings and templates, previews,
    /// the delivery log, and the mail gateway's messages.
    pub enum NotificationCommand on NOTIFICATION_QUEUE;
    queries NotificationQuery {
        GetNotificationSettingsV1 -> NotificationSettingsV1,
        ListTemplatesV1 -> Vec<EmailTemplateV1>,
        PreviewEmailV1 -> RenderedEmailV1,
        ListDeliveriesV1 -> Vec<DeliveryV1>,
        // Not read-only, but idempotent by the message's own Message-ID,
        // and run through ticketing's commands: it has its own once.
        ReceiveEmailV1 -> EmailReceivedV1,
    }
    changes NotificationChange {
        SetNotificationSettingsV1 -> NotificationSettingsV1,
        PatchNotificationSettingsV1 -> NotificationSettingsV1,
        PutTemplateV1 -> EmailTemplateV1,
        DeleteTemplateV1 -> EmailTemplateV1,
    }
}
