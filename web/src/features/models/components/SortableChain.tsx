import { useMemo, useRef, type ReactNode } from 'react';
import { DndContext, KeyboardSensor, PointerSensor, closestCenter, useSensor, useSensors, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, arrayMove, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import type { AliasTarget } from '../api/models';

const name = (t: AliasTarget) => `${t.service}/${t.model}`;

/** Stable ids for a list whose entries may repeat: the same entry keeps its id while the list is reordered. */
function useStableIds(targets: readonly AliasTarget[]): string[] {
  const seq = useRef(0);
  const prev = useRef<{ key: string; id: string }[]>([]);
  return useMemo(() => {
    const pool = [...prev.current];
    const next = targets.map((t) => {
      const at = pool.findIndex((p) => p.key === name(t));
      if (at >= 0) return pool.splice(at, 1)[0];
      return { key: name(t), id: `target-${++seq.current}` };
    });
    prev.current = next;
    return next.map((n) => n.id);
  }, [targets]);
}

function Row({ id, target, index, count, onMove, onRemove }: { id: string; target: AliasTarget; index: number; count: number; onMove: (by: -1 | 1) => void; onRemove: () => void }) {
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({ id });
  const style = {
    transform: transform ? `translate3d(${Math.round(transform.x)}px, ${Math.round(transform.y)}px, 0)` : undefined,
    transition,
    opacity: isDragging ? 0.6 : undefined,
  };
  const n = name(target);
  return (
    <li ref={setNodeRef} style={style} className="sortable-item" data-target={n}>
      <button type="button" className="drag-handle secondary" ref={setActivatorNodeRef} {...attributes} {...listeners} aria-label={`Drag ${n} (position ${index + 1} of ${count})`}>
        ⠿
      </button>{' '}
      <span className="mono">{n}</span>{' '}
      <button type="button" className="secondary" disabled={index === 0} onClick={() => onMove(-1)} aria-label={`Move ${n} up`}>
        ↑
      </button>{' '}
      <button type="button" className="secondary" disabled={index === count - 1} onClick={() => onMove(1)} aria-label={`Move ${n} down`}>
        ↓
      </button>{' '}
      <button type="button" className="secondary" onClick={onRemove} aria-label={`Remove ${n}`}>
        Remove
      </button>
    </li>
  );
}

/**
 * An ordered list of alias targets, reordered by dragging a row's handle (mouse, touch, or the keyboard: focus the
 * handle, Space to lift, arrows to move, Space to drop, Escape to cancel — dnd-kit announces each step), or with the
 * up/down buttons.
 */
export function SortableChain({ targets, onChange, label, footer }: { targets: AliasTarget[]; onChange: (next: AliasTarget[]) => void; label: string; footer?: ReactNode }) {
  const ids = useStableIds(targets);
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 4 } }), useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }));
  const onDragEnd = ({ active, over }: DragEndEvent) => {
    if (!over || active.id === over.id) return;
    onChange(arrayMove(targets, ids.indexOf(String(active.id)), ids.indexOf(String(over.id))));
  };
  const announce = (id: string | number) => {
    const i = ids.indexOf(String(id));
    return i >= 0 ? name(targets[i]) : String(id);
  };
  return (
    <DndContext
      sensors={sensors}
      collisionDetection={closestCenter}
      onDragEnd={onDragEnd}
      accessibility={{
        announcements: {
          onDragStart: ({ active }) => `Picked up ${announce(active.id)}.`,
          onDragOver: ({ active, over }) => (over ? `${announce(active.id)} is over position ${ids.indexOf(String(over.id)) + 1} of ${ids.length}.` : `${announce(active.id)} is no longer over the list.`),
          onDragEnd: ({ active, over }) => (over ? `${announce(active.id)} dropped at position ${ids.indexOf(String(over.id)) + 1} of ${ids.length}.` : `${announce(active.id)} dropped.`),
          onDragCancel: ({ active }) => `Moving ${announce(active.id)} was cancelled.`,
        },
        screenReaderInstructions: { draggable: 'To reorder, press Space on the drag handle, move with the arrow keys, press Space again to drop or Escape to cancel.' },
      }}
    >
      <SortableContext items={ids} strategy={verticalListSortingStrategy}>
        <ol aria-label={label} className="sortable-chain">
          {targets.map((t, i) => (
            <Row
              key={ids[i]}
              id={ids[i]}
              target={t}
              index={i}
              count={targets.length}
              onMove={(by) => onChange(arrayMove(targets, i, i + by))}
              onRemove={() => onChange(targets.filter((_, j) => j !== i))}
            />
          ))}
        </ol>
      </SortableContext>
      {footer}
    </DndContext>
  );
}
