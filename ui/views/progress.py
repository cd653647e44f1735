"""Progress: mastery per topic, quiz scores over time, and the flashcards coming due."""

from __future__ import annotations

from datetime import datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

import common
from rag_tutor.study.session import MOST_MISSED

DAYS_AHEAD = 7  # the due-cards chart covers today and this many days after it
ALL_QUIZZES = 1000  # finished quizzes read for the scores chart (far more than anyone takes)


def mastery_chart(report) -> None:
    df = pd.DataFrame({"Topic": [t.title for t in report.topics],
                       "Mastery": [round(100 * t.mastery, 1) for t in report.topics]})
    chart = alt.Chart(df).mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("Mastery:Q", title="Mastery (%)", scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("Topic:N", sort=list(df["Topic"]), title=None, axis=alt.Axis(labelLimit=320)),
        tooltip=["Topic", "Mastery"],
    ).properties(height=24 * len(df) + 30)
    st.altair_chart(chart, width="stretch")


def quiz_chart(study) -> None:
    records = study.store.recent_quizzes(ALL_QUIZZES)
    if not records:
        st.info("No finished quizzes yet: start one from the Chat or the Learn page.")
        return
    titles = {t.topic: t.title for t in study.material.topics}
    df = pd.DataFrame({
        "Finished": [r.finished_at.astimezone().replace(tzinfo=None) for r in records],
        "Score (%)": [round(100 * r.score / r.total, 1) if r.total else 0.0 for r in records],
        "Quiz": [titles.get(r.topic, r.topic or "whole course") for r in records],
        "Result": [f"{r.score}/{r.total}" for r in records],
    }).sort_values("Finished")
    chart = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("Finished:T", title=None),
        y=alt.Y("Score (%):Q", scale=alt.Scale(domain=[0, 100])),
        tooltip=["Quiz", "Result", "Finished"],
    )
    st.altair_chart(chart, width="stretch")


def due_chart(study) -> None:
    now = datetime.now().astimezone()
    end_of_today = now.replace(hour=23, minute=59, second=59, microsecond=0)
    dues = [c.due.astimezone() for c in study.store.cards().values()]
    today = sum(1 for d in dues if d <= end_of_today)
    week = sum(1 for d in dues if end_of_today < d <= end_of_today + timedelta(days=DAYS_AHEAD))
    c1, c2 = st.columns(2)
    c1.metric("Cards due today", today)
    c2.metric(f"Due in the next {DAYS_AHEAD} days", week)
    days = [(end_of_today + timedelta(days=i)).date() for i in range(DAYS_AHEAD + 1)]
    counts = [today] + [sum(1 for d in dues if d.date() == day) for day in days[1:]]
    df = pd.DataFrame({"Day": [d.strftime("%a %d %b") if i else "today" for i, d in enumerate(days)],
                       "Cards": counts})
    chart = alt.Chart(df).mark_bar().encode(x=alt.X("Day:N", sort=list(df["Day"]), title=None),
                                            y=alt.Y("Cards:Q", title="Cards due", axis=alt.Axis(tickMinStep=1)))
    st.altair_chart(chart, width="stretch")


def missed_table(study) -> None:
    missed = study.store.most_missed(MOST_MISSED)
    if not missed:
        st.info("No missed quiz questions yet.")
        return
    titles = {t.topic: t.title for t in study.material.topics}
    rows = [{"Concept": m.concept, "Topic": titles.get(m.topic, m.topic), "Missed": m.missed,
             "Answered": m.answered} for m in missed]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("A missed question puts its concept's flashcard into your review: /flashcards in the Chat.")


def topic_table(report) -> None:
    rows = [{"Topic": t.title, "Mastery": t.mastery,
             "Quiz": f"{t.quiz_correct}/{t.quiz_answered}" if t.quiz_answered else "–",
             "Cards seen": f"{t.cards_seen}/{t.cards_total}", "Due": t.cards_due,
             "Last studied": t.studied_at.astimezone() if t.studied_at else None} for t in report.topics]
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "Mastery": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Last studied": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    })


st.set_page_config(layout="wide")
s = common.settings()
study = common.get_study(s)
report = study.report()
st.title("Progress")
st.caption(f"Learner: **{common.md_inline(report.learner)}** · mastery mixes your latest quiz answers with "
           "how well you remember the topic's flashcards.")
topics = report.topics
mastered = sum(1 for t in topics if t.mastery >= study.config.mastered)
c1, c2, c3 = st.columns(3)
c1.metric("Average mastery", f"{sum(t.mastery for t in topics) / len(topics):.0%}" if topics else "–")
c2.metric("Topics mastered", f"{mastered}/{len(topics)}")
c3.metric("Quizzes finished", len(study.store.recent_quizzes(ALL_QUIZZES)))
st.subheader("Mastery per topic")
mastery_chart(report)
st.subheader("Quiz scores over time")
quiz_chart(study)
st.subheader("Concepts most often missed")
missed_table(study)
st.subheader("Flashcards coming due")
due_chart(study)
with st.expander("Details per topic", icon=":material/table:"):
    topic_table(report)
