"""Voice of the customer: review sentiment, aspects, design briefs and the complaint queue."""

from .mine import URGENCY, Insights, mine, urgency
from .sentiment import SentimentModel

__all__ = ["SentimentModel", "mine", "Insights", "urgency", "URGENCY"]
