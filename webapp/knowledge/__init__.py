"""The knowledge base (``/conocimiento``): search, articles, writing them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from engine import services
from engine.domain.errors import Conflict, InvalidData
from engine.domain.knowledge import ArticleList, ArticleQuery
from webapp.helpers import field_errors, platform, require_actor, translate

bp = Blueprint("knowledge", __name__, template_folder="templates")

#: Results the search panel of the intake and task pages shows.
PANEL_LIMIT = 8
#: The article form's fields: form name → the service's key.
FIELDS = {
    "titulo": "title",
    "tema": "topic",
    "texto": "body",
    "entidad": "entity_code",
}


def _search(limit: int) -> tuple[ArticleList | None, dict[str, list[str]]]:
    """The articles the query string asks for, or the messages of bad values."""
    actor = require_actor()
    drafts = request.args.get("borradores") == "1"
    try:
        query = services.article_query(request.args, drafts=drafts)
    except InvalidData as exc:
        query, errors = ArticleQuery(), field_errors(exc.errors)
        found = services.search_articles(platform(), actor, query, limit=limit)
        return found, errors
    return services.search_articles(platform(), actor, query, limit=limit), {}


@bp.get("/conocimiento")
@login_required
def index() -> Any:
    """Search the articles (words, entity, topic); writers also see drafts."""
    found, errors = _search(services.knowledge.LIMIT)
    page = render_template(
        "knowledge/index.html", found=found, errors=errors, args=request.args
    )
    return page, 422 if errors else 200


@bp.get("/conocimiento/panel")
@login_required
def panel() -> Any:
    """The results of the intake and task pages' search panel (a fragment)."""
    found, errors = _search(PANEL_LIMIT)
    page = render_template("knowledge/_results.html", found=found, errors=errors)
    return page, 422 if errors else 200


@bp.get("/conocimiento/<int:article_id>")
@login_required
def article(article_id: int) -> Any:
    """One article, its Markdown rendered safely."""
    view = services.get_article(platform(), require_actor(), article_id)
    return render_template("knowledge/article.html", article=view)


@bp.route("/conocimiento/nuevo", methods=["GET", "POST"])
@login_required
def create() -> Any:
    """Write a new article (supervisors; enlaces for their entity)."""
    return _edit_form(None)


@bp.route("/conocimiento/<int:article_id>/editar", methods=["GET", "POST"])
@login_required
def edit(article_id: int) -> Any:
    """Change an article; a save on a stale copy is refused with 409."""
    return _edit_form(article_id)


def _edit_form(article_id: int | None) -> Any:
    """The article form: show, preview, save (new or edited)."""
    actor = require_actor()
    p = platform()
    form = services.article_form(p, actor, article_id)
    current = form.article
    values: dict[str, Any] = {}
    if current is not None:
        values = {
            "titulo": current.title,
            "tema": current.topic,
            "texto": current.body,
            "entidad": current.entity_code or "",
            "version": str(current.lock_version),
        }
    errors: dict[str, list[str]] = {}
    conflict = None
    preview = False
    status = 200
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in [*FIELDS, "version"]}
        data: dict[str, Any] = {key: values[name] for name, key in FIELDS.items()}
        data["published"] = request.form.get("publicado") == "1"
        values["publicado"] = "1" if data["published"] else ""
        preview = request.form.get("accion") == "vista_previa"
        if not preview:
            try:
                if current is None:
                    saved = services.create_article(p, actor, data)
                else:
                    version = values["version"]
                    saved = services.edit_article(
                        p,
                        actor,
                        current.id,
                        data,
                        int(version) if version.isdigit() else -1,
                    )
            except InvalidData as exc:
                errors = field_errors(
                    {
                        name: exc.errors[key]
                        for name, key in FIELDS.items()
                        if key in exc.errors
                    }
                )
                status = 422
            except Conflict as exc:
                conflict = translate(exc.message)
                status = 409
            else:
                flash(gettext("Artículo guardado."), "success")
                return redirect(
                    url_for("knowledge.article", article_id=saved.id), code=303
                )
    page = render_template(
        "knowledge/form.html",
        current=current,
        values=values,
        errors=errors,
        conflict=conflict,
        preview=preview,
        entities=form.entities,
        topics=form.topics,
        is_supervisor=actor.has("supervisor_311"),
        own_entities=sorted(actor.entity_codes),
    )
    return page, status


@bp.post("/conocimiento/<int:article_id>/publicacion")
@login_required
def publish(article_id: int) -> Any:
    """Publish or unpublish an article (a stale page gets 409)."""
    version = request.form.get("version", "")
    published = request.form.get("publicado") == "1"
    services.set_published(
        platform(),
        require_actor(),
        article_id,
        published,
        int(version) if version.isdigit() else -1,
    )
    if published:
        flash(gettext("Artículo publicado."), "success")
    else:
        flash(gettext("Artículo retirado: los agentes ya no lo ven."), "success")
    return redirect(url_for("knowledge.article", article_id=article_id), code=303)
