"""The tables an RMS extract is read from and written to, as SQLAlchemy Core
tables: the import's bulk writes (:mod:`app.rms.apply`) and the export's
paged reads (:mod:`app.services.rms_export`) use them without the ORM."""

from __future__ import annotations

import models

T_CASE = models.Case.__table__
T_PERSON = models.Person.__table__
T_INCLUDED = models.IncludedClassification.__table__
T_ALLOCATION = models.Allocation.__table__
T_RISK = models.RiskAssessment.__table__
T_ORDER = models.ProtectiveOrder.__table__
T_BREACH = models.Breach.__table__
T_CARE = models.VictimCare.__table__
T_REFERRAL = models.Referral.__table__
T_AUDIT = models.AuditEvent.__table__
T_SPO_DECISION = models.SpoDecision.__table__
T_SEARCH = models.SearchRecord.__table__
T_MULTI_AGENCY = models.MultiAgencyReferral.__table__
T_TRAINING = models.TrainingRecord.__table__
T_PROGRAMME = models.PerpetratorProgramme.__table__
T_PERPETRATOR_REFERRAL = models.PerpetratorReferral.__table__
