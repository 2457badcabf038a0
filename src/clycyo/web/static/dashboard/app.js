// Clycyo dashboard: small enhancements over pages the server renders and escapes.
// Every page works as plain links and forms; this script loads the overview's panels in
// parallel, draws the chart, polls realtime and saves a few clicks. It never builds markup from
// data: text goes in through textContent, and panel fragments arrive already escaped by the
// server (the Content-Security-Policy forbids inline scripts and handlers on top of that).
'use strict'
;(function () {
  function clampShare (value) {
    const share = Number(value)
    return Number.isFinite(share) ? Math.max(0, Math.min(100, share)) : 0
  }

  function drawBars (root) {
    root.querySelectorAll('[data-share]').forEach(function (el) {
      el.style.setProperty('--share', clampShare(el.dataset.share) + '%')
    })
  }

  // The dates a choice of "custom" asks for, by the select that makes it.
  const DATES = { period: '.custom-dates', compare: '.compare-dates' }

  function datesFor (form, name) {
    return name === 'period' || name === 'compare' ? form.querySelector(DATES[name]) : null
  }

  function datesShown (form) {
    return ['period', 'compare'].some(function (name) {
      const dates = datesFor(form, name)
      return dates && !dates.hidden
    })
  }

  // Only what the choice needs goes into the URL: the dates of a custom range or comparison
  // alone, and `compare` only when it is not the default (the previous period).
  function tidy (form) {
    ;['period', 'compare'].forEach(function (name) {
      const dates = datesFor(form, name)
      if (dates) dates.querySelectorAll('input').forEach(function (input) { input.disabled = dates.hidden })
    })
    const compare = form.querySelector('select[name=compare]')
    if (compare) compare.disabled = compare.value === 'previous'
  }

  function autoSubmit (root) {
    // With the script running, Apply is needed only for a custom range's dates.
    root.querySelectorAll('[data-period-form]').forEach(function (form) {
      const apply = form.querySelector('.apply')
      if (apply) apply.hidden = !datesShown(form)
      form.addEventListener('submit', function () { tidy(form) })
    })
    // Back to this page from the browser's cache: the fields `tidy` set aside are live again.
    window.addEventListener('pageshow', function () {
      root.querySelectorAll('[data-period-form] input, [data-period-form] select').forEach(function (input) { input.disabled = false })
    })
    root.querySelectorAll('[data-autosubmit]').forEach(function (el) {
      el.addEventListener('change', function () {
        const form = el.form
        if (!form) return
        const dates = datesFor(form, el.name)
        if (dates) {
          dates.hidden = el.value !== 'custom'
          const apply = form.querySelector('.apply')
          if (apply) apply.hidden = !datesShown(form)
          if (el.value === 'custom') return // wait for the dates and Apply
        }
        tidy(form)
        form.submit()
      })
    })
  }

  function showMessage (panel, text) {
    const p = document.createElement('p')
    p.className = 'empty'
    p.textContent = text
    panel.replaceChildren(p)
  }

  async function loadPanel (panel, url) {
    panel.setAttribute('aria-busy', 'true')
    try {
      const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      if (response.redirected || response.status === 401) {
        window.location.reload() // the session ended: the page goes to the login form
        return
      }
      if (!response.ok) {
        showMessage(panel, 'This panel could not be loaded (' + response.status + ').')
        return
      }
      const template = document.createElement('template')
      template.innerHTML = await response.text()
      panel.replaceChildren(template.content)
      panel.dataset.loaded = url
      drawBars(panel)
    } catch (error) {
      showMessage(panel, 'This panel could not be loaded.')
    } finally {
      panel.removeAttribute('aria-busy')
    }
  }

  // Panels load top to bottom, a few at a time: on a small server every query competes for the
  // same cores, so the panels in view arrive first instead of all arriving late together.
  const PANELS_AT_ONCE = 3

  function panels () {
    const waiting = Array.from(document.querySelectorAll('[data-panel-src]'))
    function next () {
      const panel = waiting.shift()
      if (panel) loadPanel(panel, panel.dataset.panelSrc).then(next)
    }
    for (let i = 0; i < PANELS_AT_ONCE; i++) next()
    document.querySelectorAll('[data-panel-src]').forEach(function (panel) {
      panel.addEventListener('click', function (event) {
        const link = event.target.closest('a[data-panel-link]')
        if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return
        event.preventDefault()
        loadPanel(panel, link.getAttribute('href'))
      })
    })
  }

  // The axis rounds (its ticks are round numbers); the legend reads a bucket as the totals read
  // theirs: a percentage to a tenth, money to the cent.
  function formatter (metric) {
    if (metric === 'bounce_rate' || metric === 'conversion_rate') return function (v) { return v == null ? '–' : v.toFixed(0) + '%' }
    if (metric === 'visit_duration') return function (v) { return v == null ? '–' : Math.round(v) + 's' }
    if (metric === 'revenue') return function (v) { return v == null ? '–' : Math.round(v).toLocaleString() }
    return function (v) { return v == null ? '–' : (Math.round(v * 10) / 10).toLocaleString() }
  }

  function exact (metric) {
    if (metric === 'bounce_rate' || metric === 'conversion_rate') return function (v) { return v == null ? '–' : (Math.round(v * 10) / 10).toLocaleString() + '%' }
    if (metric === 'revenue') {
      return function (v) { return v == null ? '–' : v.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) }
    }
    return formatter(metric)
  }

  // Annotations: a thin line at each bucket that has some, its notes shown on hover and on focus
  // (a marker is a button, so the keyboard reaches it). Notes go in as text, never as markup.
  function annotate (plot, data, xs) {
    const byBucket = new Map()
    ;(data.annotations || []).forEach(function (note) {
      const i = data.points.findIndex(function (p) { return p[0] === note.bucket })
      if (i < 0) return
      if (!byBucket.has(i)) byBucket.set(i, [])
      byBucket.get(i).push(note)
    })
    const markers = []
    byBucket.forEach(function (notes, i) {
      const marker = document.createElement('button')
      marker.type = 'button'
      marker.className = 'annotation-marker'
      marker.dataset.annotationMarker = data.points[i][0]
      marker.setAttribute('aria-label', notes.map(function (note) { return note.local + ' ' + note.text }).join('; '))
      const tip = document.createElement('span')
      tip.className = 'annotation-tip'
      tip.setAttribute('role', 'tooltip')
      notes.forEach(function (note) {
        const line = document.createElement('span')
        line.className = 'annotation-note'
        const when = document.createElement('time')
        when.dateTime = note.time
        when.textContent = note.local
        line.append(when, ' ' + note.text)
        tip.append(line)
      })
      marker.append(tip)
      plot.over.append(marker)
      markers.push({ marker: marker, x: xs[i] })
    })
    function place () {
      const width = plot.over.clientWidth
      markers.forEach(function (m) {
        const left = plot.valToPos(m.x, 'x')
        m.marker.style.left = left + 'px'
        m.marker.classList.toggle('end', left > width / 2) // the note opens towards the middle
      })
    }
    place()
    plot.hooks.draw = (plot.hooks.draw || []).concat(place) // after each resize too
  }

  // The charts' colours are the stylesheet's (its --chart-* properties), so they are the light or
  // the dark set as the system asks.
  function chartColours () {
    const style = getComputedStyle(document.documentElement)
    const colour = {}
    ;['line', 'fill', 'bars', 'second', 'previous', 'axis', 'grid', 'point'].forEach(function (name) {
      colour[name] = style.getPropertyValue('--chart-' + name).trim()
    })
    return colour
  }

  // A canvas keeps the colours it was drawn in: `draw` runs again when the system's setting changes.
  function onSchemeChange (draw) {
    const dark = window.matchMedia('(prefers-color-scheme: dark)')
    if (dark.addEventListener) dark.addEventListener('change', draw)
  }

  function chart () {
    const host = document.querySelector('[data-chart]')
    const source = host && document.getElementById(host.dataset.chart)
    if (!host || !source || typeof window.uPlot !== 'function') return
    const data = JSON.parse(source.textContent)
    const hourly = data.interval === 'hour'
    // Days, weeks and months are the site's local dates, drawn as UTC so the browser's zone does
    // not shift them. An hour is its local start (the label's first 19 characters) at its UTC
    // offset (data.offsets): a day the clocks go back has its repeated hour twice, one they go
    // forward lacks one, and each hour sits at its true place on the axis.
    const xs = data.points.map(function (p, i) {
      return Date.parse(p[0].slice(0, 19) + (hourly ? data.offsets[i] : 'Z')) / 1000
    })
    const local = {}
    const offsets = {}
    data.points.forEach(function (p, i) {
      local[xs[i]] = p[0].slice(0, 16).replace('T', ' ')
      offsets[xs[i]] = hourly ? data.offsets[i] : ''
    })
    const changing = hourly && new Set(Object.values(offsets)).size > 1
    const when = function (u, ts) {
      if (ts == null) return ''
      if (hourly) return (local[ts] || '') + (changing ? ' ' + offsets[ts] : '')
      return new Date(ts * 1000).toISOString().slice(0, 10)
    }
    const height = window.innerWidth < 640 ? 180 : 240
    let plot = null
    function draw () {
      const colour = chartColours()
      const series = [{ label: hourly ? 'Hour' : (data.interval === 'week' ? 'Week of' : 'Day'), value: when }, { label: data.label, stroke: colour.line, fill: colour.fill, width: 2, points: { fill: colour.point }, value: function (u, v) { return exact(data.metric)(v) } }]
      const columns = [xs, data.points.map(function (p) { return p[1] })]
      if (data.previous) {
        series.push({ label: data.previous_label || 'Previous period', stroke: colour.previous, dash: [4, 4], width: 1.5, points: { fill: colour.point }, value: function (u, v) { return exact(data.metric)(v) } })
        columns.push(data.previous.map(function (p) { return p[1] }).slice(0, xs.length))
      }
      const options = {
        width: host.clientWidth || 600,
        height: height,
        tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') },
        series: series,
        scales: { y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1] } } },
        axes: [{
          stroke: colour.axis,
          grid: { show: false },
          // Ticks on whole buckets: days for a daily chart, never "4pm" between them.
          incrs: hourly ? [3600, 2 * 3600, 3 * 3600, 6 * 3600] : [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400],
          values: function (u, splits) {
            return splits.map(function (ts, i) {
              if (hourly) {
                const shift = changing && i > 0 && offsets[ts] !== offsets[splits[i - 1]]
                return (local[ts] || '').slice(11) + (shift ? ' ' + offsets[ts] : '')
              }
              return new Date(ts * 1000).toISOString().slice(5, 10).replace('-', '/')
            })
          },
        }, {
          size: 64,
          stroke: colour.axis,
          grid: { stroke: colour.grid },
          values: function (u, vals) { return vals.map(formatter(data.metric)) },
        }],
        cursor: { y: false },
      }
      if (hourly) {
        // Hours tick on their buckets (every n-th), which a zone half an hour off UTC starts at :30.
        options.axes[0].splits = function (u, axis, min, max, incr) {
          const every = Math.max(1, Math.round(incr / 3600))
          return xs.filter(function (x, i) { return i % every === 0 })
        }
      }
      if (plot) plot.destroy()
      plot = new window.uPlot(options, columns, host)
      annotate(plot, data, xs)
    }
    draw()
    onSchemeChange(draw)
    let pending = 0
    window.addEventListener('resize', function () {
      cancelAnimationFrame(pending)
      pending = requestAnimationFrame(function () { plot.setSize({ width: host.clientWidth, height: height }) })
    })
  }

  function fillRows (tbody, rows) {
    const columns = (tbody.dataset.rtColumns || 'visitors').split(' ')
    const fresh = rows.map(function (row) {
      const tr = document.createElement('tr')
      const label = document.createElement('td')
      label.className = 'label'
      label.textContent = row.label
      tr.append(label)
      columns.forEach(function (column) {
        const count = document.createElement('td')
        count.className = 'num'
        count.textContent = String(row[column])
        tr.append(count)
      })
      return tr
    })
    tbody.replaceChildren.apply(tbody, fresh)
  }

  // The last thirty minutes, a bar per minute (pageviews) with the visitors as a line; the
  // minutes are labelled by the server in the site's time zone, the x axis counts minutes.
  function minutesChart (box) {
    const host = box.querySelector('[data-rt-chart]')
    const source = host && document.getElementById(host.dataset.rtChart)
    if (!host || !source || typeof window.uPlot !== 'function') return null
    let labels = []
    function columns (minutes) {
      labels = minutes.map(function (m) { return m.local })
      return [
        minutes.map(function (m, i) { return i }),
        minutes.map(function (m) { return m.pageviews }),
        minutes.map(function (m) { return m.visitors }),
      ]
    }
    const whole = function (u, v) { return v == null ? '–' : String(v) }
    const height = window.innerWidth < 640 ? 150 : 180
    let shown = columns(JSON.parse(source.textContent))
    let plot = null
    function draw () {
      const colour = chartColours()
      const options = {
        width: host.clientWidth || 600,
        height: height,
        scales: { x: { time: false, range: function () { return [-0.5, labels.length - 0.5] } }, y: { range: function (u, min, max) { return [0, max > 0 ? Math.ceil(max * 1.15) : 1] } } },
        series: [
          { label: 'Minute', value: function (u, i) { return i == null ? '' : (labels[i] || '') } },
          { label: 'Pageviews', stroke: colour.line, fill: colour.bars, width: 1, paths: window.uPlot.paths.bars({ size: [0.7, 24] }), points: { show: false }, value: whole },
          { label: 'Visitors', stroke: colour.second, width: 2, points: { show: false }, value: whole },
        ],
        axes: [{
          stroke: colour.axis,
          grid: { show: false },
          incrs: [5, 10, 15],
          values: function (u, splits) { return splits.map(function (i) { return labels[i] || '' }) },
        }, {
          size: 48,
          stroke: colour.axis,
          grid: { stroke: colour.grid },
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
          values: function (u, vals) { return vals.map(function (v) { return String(Math.round(v)) }) },
        }],
        cursor: { y: false },
      }
      if (plot) plot.destroy()
      plot = new window.uPlot(options, shown, host)
    }
    draw()
    onSchemeChange(draw)
    let pending = 0
    window.addEventListener('resize', function () {
      cancelAnimationFrame(pending)
      pending = requestAnimationFrame(function () { plot.setSize({ width: host.clientWidth, height: height }) })
    })
    return function (minutes) {
      shown = columns(minutes)
      plot.setData(shown)
    }
  }

  function realtime () {
    const box = document.querySelector('[data-realtime]')
    if (!box) return
    const every = Math.max(2, Number(box.dataset.refreshS) || 10) * 1000
    const redraw = minutesChart(box)
    async function tick () {
      try {
        const response = await fetch(box.dataset.realtime, { credentials: 'same-origin' })
        if (response.ok) {
          const data = await response.json()
          box.querySelector('[data-rt-visitors]').textContent = String(data.visitors)
          box.querySelector('[data-rt-noun]').textContent = data.visitors === 1 ? 'visitor' : 'visitors'
          box.querySelector('[data-rt-empty]').hidden = data.visitors > 0
          box.querySelectorAll('[data-rt-list]').forEach(function (tbody) {
            fillRows(tbody, data[tbody.dataset.rtList] || [])
          })
          const minutes = data.minutes || []
          const pageviews = minutes.reduce(function (sum, m) { return sum + m.pageviews }, 0)
          box.querySelector('[data-rt-pageviews]').textContent = String(pageviews)
          box.querySelector('[data-rt-pageviews-noun]').textContent = pageviews === 1 ? 'pageview' : 'pageviews'
          box.querySelector('[data-rt-goals-empty]').hidden = (data.goals || []).length > 0
          if (redraw) redraw(minutes)
          box.querySelector('[data-rt-updated]').textContent = 'Last update ' + new Date().toLocaleTimeString()
        }
      } catch (error) { /* offline for a moment: the next tick tries again */ }
      setTimeout(tick, every)
    }
    setTimeout(tick, every)
  }

  function funnelForm () {
    const form = document.querySelector('[data-funnel-form]')
    if (!form) return
    const spares = Array.from(form.querySelectorAll('[data-spare]'))
    const button = form.querySelector('[data-add-step]')
    spares.forEach(function (row) { row.hidden = true })
    if (!button || !spares.length) return
    button.hidden = false
    button.addEventListener('click', function () {
      const next = spares.shift()
      if (next) { next.hidden = false; next.querySelector('input').focus() }
      if (!spares.length) button.hidden = true
    })
  }

  // The Filter form's value suggestions: asked once typing pauses, only the latest answer shown,
  // each value put in as an option's value (text, never markup).
  function filterSuggestions () {
    document.querySelectorAll('[data-filter-form]').forEach(function (form) {
      const dimension = form.querySelector('select[name="dimension"]')
      const input = form.querySelector('input[name="value"]')
      const list = input && document.getElementById(input.getAttribute('list'))
      if (!dimension || !list) return
      let timer = 0
      let asked = 0
      async function suggest () {
        const turn = ++asked
        const url = new URL(form.dataset.suggest, window.location.href)
        url.searchParams.set('dimension', dimension.value)
        url.searchParams.set('q', input.value)
        try {
          const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          if (!response.ok) return
          const found = await response.json()
          if (turn !== asked) return
          list.replaceChildren.apply(list, found.suggestions.map(function (s) {
            const option = document.createElement('option')
            option.value = s.value
            return option
          }))
        } catch (e) {
          // No suggestions: the input still takes any value.
        }
      }
      function later () {
        clearTimeout(timer)
        timer = setTimeout(suggest, 250)
      }
      input.addEventListener('input', later)
      input.addEventListener('focus', later)
      dimension.addEventListener('change', function () { list.replaceChildren(); later() })
      propertyKeys(form)
    })
  }

  // The property keys a filter can name, asked once the page is there (not by the page itself:
  // they cost a query the first render need not wait for).
  async function propertyKeys (form) {
    const group = form.querySelector('[data-filter-properties]')
    if (!group) return
    const url = new URL(form.dataset.suggest, window.location.href)
    url.searchParams.set('dimension', 'property')
    try {
      const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      if (!response.ok) return
      const found = await response.json()
      group.replaceChildren.apply(group, found.suggestions.map(function (s) {
        const option = document.createElement('option')
        option.value = s.value
        option.textContent = s.label
        return option
      }))
      group.hidden = !found.suggestions.length
    } catch (e) {
      // No keys offered: a property row of a panel still filters on it.
    }
  }

  function selectSecrets () {
    document.querySelectorAll('[data-select-all]').forEach(function (input) {
      input.addEventListener('focus', function () { input.select() })
    })
  }

  function start () {
    drawBars(document)
    autoSubmit(document)
    panels()
    chart()
    realtime()
    funnelForm()
    selectSecrets()
    filterSuggestions()
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
}())
