-- One database per service (DESIGN.md section 4).
CREATE DATABASE servicedesk_edge;
CREATE DATABASE servicedesk_ticketing;
CREATE DATABASE servicedesk_escalation;
CREATE DATABASE servicedesk_notification;
