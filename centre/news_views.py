"""News for customers (CC-6 *news* right): the list, keyset paged at a constant cost, and one item. Only a
person acting for a customer with the *news* right gets here (403 otherwise, as for the other rights);
a draft, a future item, an item about a product the customer does not hold and a missing one answer the
same 404 (ALL-1)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from accounts.models import Membership

from .models import NewsItem
from .selectors import news_get, news_page
from .views import CustomerListView, CustomerRequiredMixin

NEWS = Membership.Right.NEWS.value


class NewsView(CustomerListView):
    required_right = NEWS
    template_name = "centre/news.html"
    list_page = staticmethod(news_page)


class NewsItemView(CustomerRequiredMixin, View):
    required_right = NEWS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            item = news_get(organisation=self.organisation, news_id=pk)
        except NewsItem.DoesNotExist:
            raise Http404 from None
        return render(request, "centre/news_item.html", {"organisation": self.organisation, "item": item})
